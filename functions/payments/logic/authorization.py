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
from payments.models import (
    Authorization,
    AuthorizationStatus,
    AuthorizePaymentInput,
    ProviderAuthorization,
)
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.models import StepInput


class AuthorizationStore(Protocol):
    def get_authorization(self, order_id: str) -> Authorization | None: ...

    def add_authorization(self, authorization: Authorization) -> Authorization:
        """Store it unless the order already has one; return the one that is stored."""
        ...

    def mark_voided(self, order_id: str) -> tuple[Authorization | None, bool]: ...


class PaymentProvider(Protocol):
    def authorize(self, order_id: str, amount: Decimal, token: str) -> ProviderAuthorization: ...


class PaymentTokens(Protocol):
    """Where the order's payment token is kept (the orders store): events and the saga state
    do not carry it."""

    def payment_token(self, order_id: str) -> str | None: ...


NO_PAYMENT_TOKEN = "NO_PAYMENT_TOKEN"
"""The decline reason of an order whose payment token is not in the orders store."""


class GuardedProvider:
    """A ``PaymentProvider`` behind a circuit breaker: ``ProviderUnavailable`` (down, timed
    out) counts as a failure; an authorisation or a decline (the provider answered) as a
    success. Raises ``CircuitOpen`` without calling the provider while the breaker is open."""

    def __init__(self, provider: PaymentProvider, breaker: CircuitBreaker) -> None:
        self._provider = provider
        self._breaker = breaker

    def authorize(self, order_id: str, amount: Decimal, token: str) -> ProviderAuthorization:
        return self._breaker.call(
            lambda: self._provider.authorize(order_id, amount, token),
            is_failure=lambda error: isinstance(error, ProviderUnavailable),
        )


def authorize(
    step: AuthorizePaymentInput,
    store: AuthorizationStore,
    provider: PaymentProvider,
    tokens: PaymentTokens,
) -> Authorization:
    """The order's authorisation; the provider is called only if the order has no outcome yet,
    with the payment token read from the orders store (none there: declined
    NO_PAYMENT_TOKEN, without a provider call).

    A stored DECLINED outcome raises PaymentDeclined again without a new provider call; a stored
    AUTHORIZED, PENDING (or VOIDED) one is returned as is. ProviderUnavailable and CircuitOpen
    propagate (retry).
    """
    existing = store.get_authorization(step.order_id)
    if existing is None:
        existing = _ask_provider(step, store, provider, tokens)
    if existing.status is AuthorizationStatus.DECLINED:
        raise PaymentDeclined(existing.decline_reason or "DECLINED")
    return existing


VOIDABLE = (AuthorizationStatus.AUTHORIZED, AuthorizationStatus.PENDING)


def void(order_id: str, store: AuthorizationStore) -> tuple[Authorization | None, bool]:
    """Void an AUTHORIZED or PENDING payment (a PENDING one whose confirmation did not come in
    time: a confirmation arriving later finds it VOIDED and changes nothing); missing, declined
    or already voided ones are left as is. Returns (the payment as it is now, whether this call
    voided it)."""
    existing = store.get_authorization(order_id)
    if existing is None or existing.status not in VOIDABLE:
        return existing, False
    return store.mark_voided(order_id)


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


def authorize_payment(
    step: AuthorizePaymentInput,
    store: AuthorizationStore,
    provider: PaymentProvider,
    bus: Publisher,
    tokens: PaymentTokens,
) -> Authorization:
    """The saga step: authorise the order's total, and say so on the bus (PaymentAuthorized,
    or PaymentDeclined before PaymentDeclined is raised). A PENDING authorisation is returned
    without an event: its confirmation (the provider's webhook) publishes the outcome.
    ProviderUnavailable propagates."""
    try:
        authorization = authorize(step, store, provider, tokens)
    except PaymentDeclined as declined:
        bus.publish([events.payment_declined(step, declined.decline_reason)])
        raise
    if authorization.status is not AuthorizationStatus.PENDING:
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
    step: AuthorizePaymentInput,
    store: AuthorizationStore,
    provider: PaymentProvider,
    tokens: PaymentTokens,
) -> Authorization:
    now = datetime.now(UTC)
    order_id, amount = step.order_id, step.total
    try:
        token = tokens.payment_token(order_id)
        if token is None:
            raise PaymentDeclined(NO_PAYMENT_TOKEN)
        answer = provider.authorize(order_id, amount, token)
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
            status=AuthorizationStatus.PENDING
            if answer.pending
            else AuthorizationStatus.AUTHORIZED,
            amount=amount,
            authorization_id=answer.authorization_id,
            created_at=now,
            updated_at=now,
            correlation_id=step.correlation_id if answer.pending else None,
            causation_id=step.causation_id if answer.pending else None,
        )
    return store.add_authorization(outcome)
