"""Payment rules: authorise once per order, void only what was authorised.

The functions take their store and provider as arguments; they do no I/O themselves.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from payments.errors import PaymentDeclined
from payments.models import Authorization, AuthorizationStatus


class AuthorizationStore(Protocol):
    def get_authorization(self, order_id: str) -> Authorization | None: ...

    def add_authorization(self, authorization: Authorization) -> Authorization:
        """Store it unless the order already has one; return the one that is stored."""
        ...

    def mark_voided(self, order_id: str) -> Authorization | None: ...


class PaymentProvider(Protocol):
    def authorize(self, order_id: str, amount: Decimal, token: str) -> str: ...


def authorize(
    order_id: str,
    amount: Decimal,
    token: str,
    store: AuthorizationStore,
    provider: PaymentProvider,
) -> Authorization:
    """The order's authorisation; the provider is called only if the order has no outcome yet.

    A stored DECLINED outcome raises PaymentDeclined again without a new provider call; a stored
    AUTHORIZED (or VOIDED) one is returned as is. ProviderUnavailable propagates (retry).
    """
    existing = store.get_authorization(order_id)
    if existing is None:
        existing = _ask_provider(order_id, amount, token, store, provider)
    if existing.status is AuthorizationStatus.DECLINED:
        raise PaymentDeclined(existing.decline_reason or "DECLINED")
    return existing


def void(order_id: str, store: AuthorizationStore) -> Authorization | None:
    """Void an AUTHORIZED payment; missing, declined or already voided ones are left as is."""
    existing = store.get_authorization(order_id)
    if existing is None or existing.status is not AuthorizationStatus.AUTHORIZED:
        return existing
    return store.mark_voided(order_id)


def _ask_provider(
    order_id: str,
    amount: Decimal,
    token: str,
    store: AuthorizationStore,
    provider: PaymentProvider,
) -> Authorization:
    now = datetime.now(UTC)
    try:
        authorization_id = provider.authorize(order_id, amount, token)
    except PaymentDeclined as declined:
        outcome = Authorization(
            order_id=order_id,
            status=AuthorizationStatus.DECLINED,
            amount=amount,
            decline_reason=declined.decline_reason,
            created_at=now,
            updated_at=now,
        )
    else:
        outcome = Authorization(
            order_id=order_id,
            status=AuthorizationStatus.AUTHORIZED,
            amount=amount,
            authorization_id=authorization_id,
            created_at=now,
            updated_at=now,
        )
    return store.add_authorization(outcome)
