"""The simulated payment provider: outcomes are a function of the token and attempt count."""

from collections import Counter
from decimal import Decimal

import pytest

from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.provider import ProviderMode, SimulatedPaymentProvider


class MemoryAttempts:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, order_id: str) -> int:
        self.calls[order_id] += 1
        return self.calls[order_id]


def provider(flaky_failures: int = 2, latency_ms: int = 0, sleep=None) -> SimulatedPaymentProvider:
    return SimulatedPaymentProvider(
        MemoryAttempts(),
        latency_ms=latency_ms,
        flaky_failures=flaky_failures,
        sleep=sleep or (lambda _: None),
    )


def test_tok_ok_authorizes_with_a_stable_id_per_order():
    simulated = provider()
    first = simulated.authorize("order-1", Decimal("10.00"), "tok_ok")
    assert first == simulated.authorize("order-1", Decimal("10.00"), "tok_ok")
    assert first != simulated.authorize("order-2", Decimal("10.00"), "tok_ok")
    assert first.authorization_id.startswith("auth-") and not first.pending


@pytest.mark.parametrize(
    ("token", "reason"), [("tok_decline", "CARD_DECLINED"), ("tok_nope", "UNKNOWN_TOKEN")]
)
def test_declining_tokens_say_why(token: str, reason: str):
    with pytest.raises(PaymentDeclined) as raised:
        provider().authorize("order-1", Decimal("10.00"), token)
    assert raised.value.decline_reason == reason
    assert raised.value.reason == "PAYMENT_DECLINED"


@pytest.mark.parametrize("failures", [0, 1, 2, 5])
def test_tok_flaky_fails_n_times_per_order_then_authorizes(failures: int):
    # Given a provider that fails flaky payments `failures` times
    simulated = provider(flaky_failures=failures)
    # When an order retries until it gets through
    for _ in range(failures):
        with pytest.raises(ProviderUnavailable):
            simulated.authorize("order-1", Decimal("10.00"), "tok_flaky")
    # Then the next call authorises, and another order starts failing from scratch
    answer = simulated.authorize("order-1", Decimal("10.00"), "tok_flaky")
    assert answer.authorization_id.startswith("auth-")
    if failures:
        with pytest.raises(ProviderUnavailable):
            simulated.authorize("order-2", Decimal("10.00"), "tok_flaky")


def test_each_call_waits_the_configured_latency():
    waits: list[float] = []
    provider(latency_ms=40, sleep=waits.append).authorize("order-1", Decimal("1.00"), "tok_ok")
    assert waits == [0.04]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def in_mode(mode: ProviderMode, sleeps: Sleeps, **options) -> SimulatedPaymentProvider:
    settings = {"latency_ms": 30, "slow_latency_ms": 30_000, "call_deadline_ms": 1_500, **options}
    return SimulatedPaymentProvider(MemoryAttempts(), mode=lambda: mode, sleep=sleeps, **settings)


def test_up_answers_after_its_latency() -> None:
    sleeps = Sleeps()
    answer = in_mode(ProviderMode.UP, sleeps).authorize("o", Decimal(1), "tok_ok")
    assert answer.authorization_id.startswith("auth-")
    assert sleeps == [0.03]


@pytest.mark.parametrize("token", ["tok_ok", "tok_decline", "tok_flaky"])
def test_down_fails_every_call_transiently_whatever_the_token(token: str) -> None:
    sleeps = Sleeps()
    with pytest.raises(ProviderUnavailable, match="provider down"):
        in_mode(ProviderMode.DOWN, sleeps).authorize("o", Decimal(1), token)


def test_slow_is_abandoned_at_the_call_deadline() -> None:
    # Given a provider that answers in 30 s and a client that waits 1.5 s
    sleeps = Sleeps()
    # When a call is made, it fails transiently once the deadline passes, not after 30 s
    with pytest.raises(ProviderUnavailable, match=r"did not answer within 1.5s"):
        in_mode(ProviderMode.SLOW, sleeps).authorize("o", Decimal(1), "tok_ok")
    assert sleeps == [1.5]


def test_a_slow_answer_within_the_deadline_is_waited_for() -> None:
    sleeps = Sleeps()
    provider = in_mode(ProviderMode.SLOW, sleeps, call_deadline_ms=60_000)
    assert provider.authorize("o", Decimal(1), "tok_ok").authorization_id.startswith("auth-")
    assert sleeps == [30.0]
