"""Payment rules: authorise once per order, void only what was authorised.

The functions take their store, provider and bus as arguments; they do no I/O themselves.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from payments import events
from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.logic.breaker import CircuitBreaker
from payments.models import Authorization, AuthorizationStatus, AuthorizePaymentInput
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.models import StepInput


class AuthorizationStore(Protocol):
    def get_authorization(self, order_id: str) -> Authorization | None: ...

    def add_authorization(self, authorization: Authorization) -> Authorization:
        """Store it unless the order already has one; return the one that is stored."""
        ...

    def mark_voided(self, order_id: str) -> tuple[Authorization | None, bool]: ...


class PaymentProvider(Protocol):
    def authorize(self, order_id: str, amount: Decimal, token: str) -> str: ...


class GuardedProvider:
    """A ``PaymentProvider`` behind a circuit breaker: ``ProviderUnavailable`` (down, timed
    out) counts as a failure; an authorisation or a decline (the provider answered) as a
    success. Raises ``CircuitOpen`` without calling the provider while the breaker is open."""

    def __init__(self, provider: PaymentProvider, breaker: CircuitBreaker) -> None:
        self._provider = provider
        self._breaker = breaker

    def authorize(self, order_id: str, amount: Decimal, token: str) -> str:
        return self._breaker.call(
            lambda: self._provider.authorize(order_id, amount, token),
            is_failure=lambda error: isinstance(error, ProviderUnavailable),
        )


def authorize(
    order_id: str,
    amount: Decimal,
    token: str,
    store: AuthorizationStore,
    provider: PaymentProvider,
) -> Authorization:
    """The order's authorisation; the provider is called only if the order has no outcome yet.

    A stored DECLINED outcome raises PaymentDeclined again without a new provider call; a stored
    AUTHORIZED (or VOIDED) one is returned as is. ProviderUnavailable and CircuitOpen
    propagate (retry).
    """
    existing = store.get_authorization(order_id)
    if existing is None:
        existing = _ask_provider(order_id, amount, token, store, provider)
    if existing.status is AuthorizationStatus.DECLINED:
        raise PaymentDeclined(existing.decline_reason or "DECLINED")
    return existing


def void(order_id: str, store: AuthorizationStore) -> tuple[Authorization | None, bool]:
    """Void an AUTHORIZED payment; missing, declined or already voided ones are left as is.
    Returns (the payment as it is now, whether this call voided it)."""
    existing = store.get_authorization(order_id)
    if existing is None or existing.status is not AuthorizationStatus.AUTHORIZED:
        return existing, False
    return store.mark_voided(order_id)


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


def authorize_payment(
    step: AuthorizePaymentInput,
    store: AuthorizationStore,
    provider: PaymentProvider,
    bus: Publisher,
) -> Authorization:
    """The saga step: authorise the order's total, and say so on the bus (PaymentAuthorized,
    or PaymentDeclined before PaymentDeclined is raised). ProviderUnavailable propagates."""
    try:
        authorization = authorize(step.order_id, step.total, step.payment_token, store, provider)
    except PaymentDeclined as declined:
        bus.publish([events.payment_declined(step, declined.decline_reason)])
        raise
    bus.publish([events.payment_authorized(step, authorization)])
    return authorization


def void_payment(
    step: StepInput, store: AuthorizationStore, bus: Publisher
) -> tuple[Authorization | None, bool]:
    """The compensation: void the order's payment (see `void`); PaymentVoided is published
    whenever it ends VOIDED (again on a retry, with the same id)."""
    authorization, voided = void(step.order_id, store)
    if authorization is not None and authorization.status is AuthorizationStatus.VOIDED:
        bus.publish([events.payment_voided(step, authorization)])
    return authorization, voided


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
