"""The provider's mode from SSM (moto) and the breaker, through the AuthorizePayment handler."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from payments.dal import get_mode_parameter
from payments.dal.breaker import BreakerRepository
from payments.dal.repository import PaymentsRepository
from payments.errors import CircuitOpen, PaymentDeclined, ProviderUnavailable
from payments.handlers import authorize_payment
from payments.logic.breaker import Transition
from payments.models import BreakerRecord, BreakerState
from payments.provider import ProviderMode
from payments.resilience import PROVIDER_DEPENDENCY, LoggingBreakerObserver
from shared_kernel.observability import logger
from tests.unit.domain_common.fixtures import TABLE_ENV, BusSpy, FakeLambdaContext
from tests.unit.payments.conftest import set_mode
from tests.unit.payments.test_payments_handlers import step

THRESHOLD = 3


@pytest.fixture(autouse=True)
def _small_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", str(THRESHOLD))
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", "60")  # stays open for the whole test
    monkeypatch.setenv("PROVIDER_CALL_DEADLINE_MS", "20")  # slow calls cost the test 20 ms
    monkeypatch.setenv("PROVIDER_SLOW_LATENCY_MS", "5000")


class LogLines(logging.Handler):
    """The service's log lines as Powertools writes them (JSON)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logger.registered_formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def metric_names(output: str) -> list[str]:
    """The metrics in the EMF lines Powertools printed."""
    names = []
    for line in output.splitlines():
        if line.startswith("{") and "_aws" in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                names += [metric["Name"] for metric in directive["Metrics"]]
    return names


def breaker_state(table: str) -> BreakerState:
    return BreakerRepository(table).load(PROVIDER_DEPENDENCY).state


@pytest.mark.parametrize("value", ["up", "down", "slow", " Down\n"])
def test_the_mode_is_read_from_ssm(payments_table: str, value: str) -> None:
    set_mode(value)
    assert get_mode_parameter().mode() is ProviderMode(value.strip().lower())


def test_a_bad_mode_is_a_logged_error_and_taken_as_down(
    payments_table: str, log_lines: LogLines
) -> None:
    set_mode("dwon")
    assert get_mode_parameter().mode() is ProviderMode.DOWN
    [line] = [x for x in log_lines.lines if "mode" in x["message"]]
    assert line["level"] == "ERROR"
    assert (line["value"], line["allowed"]) == ("dwon", "up, down, slow")


def test_a_missing_mode_parameter_is_a_logged_error_and_taken_as_down(
    mocked_aws: None, log_lines: LogLines
) -> None:
    assert get_mode_parameter().mode() is ProviderMode.DOWN
    [line] = [x for x in log_lines.lines if x["level"] == "ERROR"]
    assert line["message"] == "provider mode unreadable: taking it as down"


def test_the_mode_is_cached_for_max_age(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVIDER_MODE_MAX_AGE_SECONDS", "300")
    assert get_mode_parameter().mode() is ProviderMode.UP
    set_mode("down")
    assert get_mode_parameter().mode() is ProviderMode.UP  # cached


@pytest.mark.parametrize("mode", ["down", "slow", "bogus"])
def test_an_outage_opens_the_breaker_then_calls_fail_fast(
    repository: PaymentsRepository,
    bus: BusSpy,
    capsys: pytest.CaptureFixture[str],
    log_lines: LogLines,
    mode: str,
) -> None:
    payments_table = TABLE_ENV["PAYMENTS_TABLE"]
    lambda_context: Any = FakeLambdaContext()
    # Given the provider is down (or too slow, or its mode is unreadable)
    set_mode(mode)
    # When orders are authorised: the first THRESHOLD calls reach it and fail transiently
    for index in range(THRESHOLD):
        with pytest.raises(ProviderUnavailable):
            authorize_payment.handler(step(order_id=f"order-{index}"), lambda_context)
    assert breaker_state(payments_table) is BreakerState.OPEN
    # Then the next order fails fast with CircuitOpen, without a provider call
    with pytest.raises(CircuitOpen) as raised:
        authorize_payment.handler(step(order_id="order-late"), lambda_context)
    assert type(raised.value).__name__ == "CircuitOpen"
    assert repository.count_provider_attempt("order-late") == 1  # this count is the first
    for index in range(THRESHOLD):
        assert repository.count_provider_attempt(f"order-{index}") == 2  # one call each
    # and nothing was authorised or published
    assert bus.delivered() == []
    output = capsys.readouterr().out
    assert metric_names(output).count("BreakerOpened") == 1
    assert metric_names(output).count("BreakerRejected") == 1
    [opened] = [x for x in log_lines.lines if "CLOSED -> OPEN" in x["message"]]
    assert (opened["failures"], opened["dependency"]) == (THRESHOLD, "payment-provider")


def test_declines_do_not_open_the_breaker(
    repository: PaymentsRepository, payments_table: str, bus: BusSpy, lambda_context
) -> None:
    for index in range(THRESHOLD + 1):
        with pytest.raises(PaymentDeclined):
            authorize_payment.handler(step("tok_decline", f"order-{index}"), lambda_context)
    assert breaker_state(payments_table) is BreakerState.CLOSED


def test_a_stored_outcome_is_returned_while_the_breaker_is_open(
    repository: PaymentsRepository, payments_table: str, bus: BusSpy, lambda_context
) -> None:
    # Given an order authorised before the outage
    first = authorize_payment.handler(step(order_id="order-paid"), lambda_context)
    set_mode("down")
    for index in range(THRESHOLD):
        with pytest.raises(ProviderUnavailable):
            authorize_payment.handler(step(order_id=f"order-{index}"), lambda_context)
    # When its step is retried with the breaker open, the stored authorisation answers
    assert authorize_payment.handler(step(order_id="order-paid"), lambda_context) == first


def breaker_states(output: str) -> list[float]:
    """The ``BreakerOpen`` gauge's values, in the order Powertools printed them."""
    values = []
    for line in output.splitlines():
        blob = json.loads(line) if line.startswith("{") and '"_aws"' in line else {}
        if "BreakerOpen" in blob:
            assert blob["dependency"] == "payment-provider"
            values += (
                blob["BreakerOpen"]
                if isinstance(blob["BreakerOpen"], list)
                else [blob["BreakerOpen"]]
            )
    return values


def test_the_breaker_state_gauge_reads_one_while_open(
    repository: PaymentsRepository,
    bus: BusSpy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lambda_context: Any = FakeLambdaContext()
    # Given an outage that opens the breaker
    set_mode("down")
    for index in range(THRESHOLD):
        with pytest.raises(ProviderUnavailable):
            authorize_payment.handler(step(order_id=f"order-{index}"), lambda_context)
    # When a call is rejected while it is open
    with pytest.raises(CircuitOpen):
        authorize_payment.handler(step(order_id="order-late"), lambda_context)
    # Then the gauge read 1 at the opening and at the rejection, and nothing before
    assert breaker_states(capsys.readouterr().out) == [1, 1]


@pytest.mark.parametrize(
    ("before", "after", "gauge"),
    [
        (BreakerState.OPEN, BreakerState.HALF_OPEN, 0),  # a probe goes through
        (BreakerState.HALF_OPEN, BreakerState.CLOSED, 0),  # the probe succeeded
        (BreakerState.HALF_OPEN, BreakerState.OPEN, 1),  # the probe failed
    ],
)
def test_each_transition_samples_the_state_it_leads_to(
    capsys: pytest.CaptureFixture[str], before: BreakerState, after: BreakerState, gauge: int
) -> None:
    transition = Transition(
        PROVIDER_DEPENDENCY, BreakerRecord(state=before), BreakerRecord(state=after), "test"
    )

    LoggingBreakerObserver().transitioned(transition)

    assert breaker_states(capsys.readouterr().out) == [gauge]
