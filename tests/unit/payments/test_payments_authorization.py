"""Authorising and voiding against the payments table: once per order, durable attempts."""

from decimal import Decimal

import pytest

from payments.dal.repository import PaymentsRepository
from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.logic import authorization
from payments.logic.authorization import void
from payments.models import (
    Authorization,
    AuthorizationStatus,
    AuthorizePaymentInput,
    ProviderAuthorization,
)
from payments.provider import SimulatedPaymentProvider


class CountingProvider:
    """Wraps the simulated provider and counts the calls that reach it."""

    def __init__(self, repository: PaymentsRepository, flaky_failures: int = 2) -> None:
        self.calls = 0
        self._inner = SimulatedPaymentProvider(
            repository.count_provider_attempt, latency_ms=0, flaky_failures=flaky_failures
        )

    def authorize(self, order_id: str, amount: Decimal, token: str) -> ProviderAuthorization:
        self.calls += 1
        return self._inner.authorize(order_id, amount, token)


class Tokens:
    """The orders store's payment tokens, as AuthorizePayment reads them."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.reads = 0

    def payment_token(self, order_id: str) -> str | None:
        self.reads += 1
        return self.tokens.get(order_id)


def authorize(
    order_id: str, amount: Decimal, token: str | None, store: PaymentsRepository, provider
) -> Authorization:
    """The step's authorisation of ``order_id`` whose token in the orders store is ``token``."""
    step = AuthorizePaymentInput(order_id=order_id, correlation_id="corr-1", total=amount)
    tokens = Tokens({} if token is None else {order_id: token})
    return authorization.authorize(step, store, provider, tokens)


def test_authorized_order_is_not_sent_to_the_provider_again(repository: PaymentsRepository):
    # Given an order authorised once
    provider = CountingProvider(repository)
    first = authorize("order-1", Decimal("25.00"), "tok_ok", repository, provider)
    # When the step is retried
    second = authorize("order-1", Decimal("25.00"), "tok_ok", repository, provider)
    # Then the stored authorisation is returned and the provider was called once
    assert first == second
    assert first.status is AuthorizationStatus.AUTHORIZED
    assert first.amount == Decimal("25.00")
    assert provider.calls == 1


def test_declined_order_stays_declined_without_asking_again(repository: PaymentsRepository):
    provider = CountingProvider(repository)
    for _ in range(2):
        with pytest.raises(PaymentDeclined) as raised:
            authorize("order-1", Decimal("25.00"), "tok_decline", repository, provider)
        assert raised.value.decline_reason == "CARD_DECLINED"
    assert provider.calls == 1
    stored = repository.get_authorization("order-1")
    assert stored is not None
    assert (stored.status, stored.decline_reason) == (AuthorizationStatus.DECLINED, "CARD_DECLINED")


def test_flaky_attempts_are_counted_in_the_table_across_provider_instances(
    repository: PaymentsRepository,
):
    # Given two cold starts (separate provider instances), as two Lambda environments would be
    # When the flaky order is retried on alternating instances
    outcomes = []
    for attempt in range(3):
        provider = CountingProvider(PaymentsRepository(repository._table.name))
        try:
            authorize("order-1", Decimal("9.90"), "tok_flaky", repository, provider)
            outcomes.append(f"ok on {attempt + 1}")
        except ProviderUnavailable:
            outcomes.append("unavailable")
    # Then the durable counter makes it fail exactly twice, then succeed
    assert outcomes == ["unavailable", "unavailable", "ok on 3"]
    assert repository.count_provider_attempt("order-1") == 4
    # And the transient failures left no authorisation outcome behind them
    stored = repository.get_authorization("order-1")
    assert stored is not None
    assert stored.status is AuthorizationStatus.AUTHORIZED


def test_first_stored_outcome_wins(repository: PaymentsRepository):
    # Given an authorisation already stored by a concurrent attempt
    provider = CountingProvider(repository)
    winner = authorize("order-1", Decimal("5.00"), "tok_ok", repository, provider)
    # When a losing attempt tries to store its own outcome
    loser = winner.model_copy(update={"authorization_id": "auth-other"})
    stored = repository.add_authorization(loser)
    # Then the winner is kept and returned
    assert stored.authorization_id == winner.authorization_id


def test_void_voids_once_and_ignores_what_was_never_authorized(repository: PaymentsRepository):
    provider = CountingProvider(repository)
    authorize("order-1", Decimal("5.00"), "tok_ok", repository, provider)
    first, first_voided = void("order-1", repository)
    second, second_voided = void("order-1", repository)
    assert first is not None
    assert second is not None
    assert first.status is second.status is AuthorizationStatus.VOIDED
    assert (first_voided, second_voided) == (True, False)  # only the first call voided it
    assert first.updated_at == second.updated_at  # the second call changed nothing
    assert void("never-authorized", repository) == (None, False)
    with pytest.raises(PaymentDeclined):
        authorize("order-2", Decimal("5.00"), "tok_decline", repository, provider)
    declined, declined_voided = void("order-2", repository)
    assert declined is not None
    assert not declined_voided
    assert declined.status is AuthorizationStatus.DECLINED
