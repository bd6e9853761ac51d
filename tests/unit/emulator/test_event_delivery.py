"""The emulator kit's EventBridge redelivery (emulator/hostexec/orderflow_hostexec/
event_delivery.py): which failures are retried, how long, and what reaches the dead-letter
queue with which attributes. Driven with a stand-in target sender and clock; the patch on
LocalStack is tested on the emulator (tests/integration/test_rule_target_dlq.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from orderflow_hostexec import event_delivery, registry
from orderflow_hostexec.event_delivery import (
    Delivery,
    Failure,
    Redeliveries,
    RetryPolicy,
    classify,
    dlq_attributes,
)

RULE = "arn:aws:events:us-east-1:000000000000:rule/orderflow-dev/it"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:gone"
DLQ = "arn:aws:sqs:us-east-1:000000000000:it-dlq"


def client_error(code: str, status: int) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "no"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "SendMessage")


@pytest.mark.parametrize(
    ("error", "code", "retriable"),
    [
        (client_error("AWS.SimpleQueueService.NonExistentQueue", 400), "NO_RESOURCE", False),
        (client_error("ResourceNotFoundException", 400), "NO_RESOURCE", False),
        (client_error("StateMachineDoesNotExist", 400), "NO_RESOURCE", False),
        (client_error("AccessDeniedException", 403), "NO_PERMISSIONS", False),
        (client_error("ThrottlingException", 400), "THROTTLING", True),
        (client_error("TooManyRequestsException", 429), "THROTTLING", True),
        (client_error("ServiceUnavailable", 503), "INTERNAL_ERROR", True),
        (client_error("InvalidParameterValue", 400), "INVALID_PARAMETER", False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "CONNECTION_FAILURE", True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "TIMEOUT", True),
        (NotImplementedError("Batch target is not yet implemented"), "UNKNOWN", False),
        (RuntimeError("boom"), "INTERNAL_ERROR", True),
    ],
)
def test_failures_are_classified_as_eventbridge_reports_them(
    error: Exception, code: str, retriable: bool
) -> None:
    failure = classify(error)

    assert (failure.code, failure.retriable) == (code, retriable)
    assert type(error).__name__ in failure.message


def test_a_target_without_a_retry_policy_gets_eventbridge_s_defaults() -> None:
    assert RetryPolicy.of({"Arn": QUEUE}) == RetryPolicy(max_attempts=185, max_age_s=86_400)
    policy = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}
    assert RetryPolicy.of({"Arn": QUEUE, "RetryPolicy": policy}) == RetryPolicy(2, 60)


@dataclass
class Sender:
    """Stands in for LocalStack's TargetSender: what the redelivery reads of it."""

    target: dict[str, Any]
    rule_arn: str = RULE
    failures: list[Exception] = field(default_factory=list)  # raised by the next attempts
    delivered: list[dict[str, Any]] = field(default_factory=list)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    clock: Clock
    redeliveries: Redeliveries
    dead: list[tuple[Delivery, Failure, str | None]]


@pytest.fixture
def harness() -> Harness:
    clock = Clock()
    dead: list[tuple[Delivery, Failure, str | None]] = []

    def send(delivery: Delivery) -> None:
        sender = delivery.sender
        if sender.failures:
            raise sender.failures.pop(0)
        sender.delivered.append(delivery.event)

    # the jitter's ceiling itself: the longest each backoff may be
    redeliveries = Redeliveries(send, lambda *dead_letter: dead.append(dead_letter), clock, float)
    return Harness(clock, redeliveries, dead)


def delivery_to(sender: Sender, clock: Clock) -> Delivery:
    return Delivery(sender, {"id": "e-1", "detail": {}}, None, first_attempt=clock.now)


def test_a_retriable_failure_is_retried_with_backoff_until_delivered(harness: Harness) -> None:
    # Given a target that fails twice more after its first attempt failed
    throttled = client_error("ThrottlingException", 400)
    sender = Sender({"Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 5}})
    sender.failures = [throttled, throttled]
    delivery = delivery_to(sender, harness.clock)

    # When the first failure is reported, then a retry is due after the backoff, not before
    harness.redeliveries.failed(delivery, throttled)
    assert harness.redeliveries.run_due() == 0
    waits = []
    while harness.redeliveries.pending():
        due = harness.redeliveries.next_due()
        assert due is not None
        waits.append(due - harness.clock.now)
        harness.clock.now = due
        assert harness.redeliveries.run_due() == 1

    # Then it was delivered at the third retry, backing off 1, 2, 4 s (the jitter's ceilings)
    assert waits == [1.0, 2.0, 4.0]
    assert sender.delivered == [{"id": "e-1", "detail": {}}]
    assert delivery.retries == 3
    assert harness.dead == []


def test_retries_stop_at_maximum_retry_attempts_then_the_event_is_dead_lettered(
    harness: Harness,
) -> None:
    down = client_error("ServiceUnavailable", 503)
    sender = Sender({"Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 2}})
    sender.failures = [down] * 10
    delivery = delivery_to(sender, harness.clock)

    harness.redeliveries.failed(delivery, down)
    while (due := harness.redeliveries.next_due()) is not None:
        harness.clock.now = due
        harness.redeliveries.run_due()

    [(dead, failure, exhausted)] = harness.dead
    assert dead is delivery and dead.retries == 2
    assert (failure.code, exhausted) == ("INTERNAL_ERROR", "MaximumRetryAttempts")
    assert sender.delivered == []


def test_retries_stop_at_the_maximum_event_age(harness: Harness) -> None:
    down = client_error("ServiceUnavailable", 503)
    sender = Sender({"Arn": QUEUE, "RetryPolicy": {"MaximumEventAgeInSeconds": 60}})
    sender.failures = [down] * 100
    delivery = delivery_to(sender, harness.clock)

    harness.redeliveries.failed(delivery, down)
    while (due := harness.redeliveries.next_due()) is not None:
        harness.clock.now = due
        harness.redeliveries.run_due()

    [(_, _, exhausted)] = harness.dead
    assert exhausted == "MaximumEventAgeInSeconds"
    # 1 + 2 + 4 + 8 + 16 = 31 s of backoff fit in 60 s; the next (32 s) would not
    assert delivery.retries == 5
    assert harness.clock.now - delivery.first_attempt <= 60


def test_an_error_retrying_cannot_fix_goes_to_the_dlq_at_once(harness: Harness) -> None:
    sender = Sender({"Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 5}})
    delivery = delivery_to(sender, harness.clock)

    harness.redeliveries.failed(delivery, client_error("QueueDoesNotExist", 400))

    [(_, failure, exhausted)] = harness.dead
    assert (failure.code, exhausted, delivery.retries) == ("NO_RESOURCE", None, 0)
    assert harness.redeliveries.pending() == 0


def test_the_dlq_message_carries_eventbridge_s_attributes() -> None:
    sender = Sender({"Arn": QUEUE, "DeadLetterConfig": {"Arn": DLQ}})
    delivery = Delivery(sender, {"id": "e-1"}, None, first_attempt=0.0, retries=2)
    failure = Failure("THROTTLING", "ClientError: slow down", retriable=True)

    attributes = dlq_attributes(delivery, failure, "MaximumRetryAttempts")

    assert {name: value["StringValue"] for name, value in attributes.items()} == {
        "RULE_ARN": RULE,
        "TARGET_ARN": QUEUE,
        "ERROR_CODE": "THROTTLING",
        "ERROR_MESSAGE": "ClientError: slow down",
        "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }
    assert attributes["RETRY_ATTEMPTS"]["DataType"] == "Number"
    not_retried = dlq_attributes(delivery, Failure("NO_RESOURCE", "gone", False), None)
    assert "EXHAUSTED_RETRY_CONDITION" not in not_retried


def test_it_is_a_behaviour_patch_of_the_registry() -> None:
    [patch] = event_delivery.PATCHES

    assert patch in registry.BEHAVIOUR_FIXES
    assert patch.kind == "behaviour"
