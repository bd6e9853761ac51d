"""EventBridge rule targets honour their ``RetryPolicy`` and ``DeadLetterConfig``, as on AWS.

LocalStack 2026.3 delivers each matched event to a rule's target once: when that fails
(``events/provider.py: _process_rules`` and the schedule rules' job), it logs a line at INFO
and drops the event; a target's ``RetryPolicy`` and ``DeadLetterConfig`` are stored and never
read (measured: an SQS target that does not exist, with a DLQ, lost the event silently).

What AWS does (EventBridge user guide, "Event retry policy and using dead-letter queues"): a
delivery that fails with a retriable error (throttling, the target unavailable, the network)
is retried with exponential backoff and jitter until ``RetryPolicy.MaximumRetryAttempts``
(default 185) or ``MaximumEventAgeInSeconds`` (default 86,400) is reached; an error retrying
cannot fix (no such resource, no permission) is not retried. Then the event goes to the
target's dead-letter queue, if it has one, with the message attributes ``RULE_ARN``,
``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``, plus ``RETRY_ATTEMPTS`` and, when retries
ran out, ``EXHAUSTED_RETRY_CONDITION``; without a DLQ it is dropped.

This patch does the same around LocalStack's ``TargetSender.process_event``: the first attempt
is LocalStack's, in its rule-processing thread (``PutEvents`` has already answered); a failure
is classified (``classify``), retried from one background thread (``Redeliveries``: a heap of
due deliveries, so no thread per event and nothing blocks ``PutEvents``), then dead-lettered
with those attributes, or dropped with a WARNING line. LocalStack still logs the first
failure. Emulator choices where AWS documents no number: backoff 1 s doubling up to 60 s with
full jitter; error codes mapped from the SDK error (``classify``).

A behaviour patch: the app relies on its rule DLQs. Declared in ``PATCHES`` and applied by
``startup.py`` after every patch's targets have been checked (``patches.py``).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orderflow_hostexec.patches import Patch, Target

LOG = logging.getLogger(__name__)

DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE_S = 86_400
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
ERROR_MESSAGE_LIMIT = 2048

_NO_RESOURCE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "NotFound",
    "NotFoundException",
}
_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
}


@dataclass(frozen=True)
class Failure:
    """How a delivery failed, as EventBridge reports it in a DLQ message's attributes."""

    code: str  # ERROR_CODE: NO_RESOURCE, NO_PERMISSIONS, THROTTLING, ...
    message: str  # ERROR_MESSAGE
    retriable: bool


def _api_error(code: str, status: int) -> tuple[str, bool]:
    """ERROR_CODE and whether it is retried, for an error the target's API answered."""
    rules: list[tuple[bool, str, bool]] = [
        (
            code in _NO_RESOURCE or code.endswith(("NotFound", "NotFoundException")),
            "NO_RESOURCE",
            False,
        ),
        (
            "AccessDenied" in code or "NotAuthorized" in code or code == "AuthorizationError",
            "NO_PERMISSIONS",
            False,
        ),
        (code in _THROTTLING or status == 429, "THROTTLING", True),
        (status >= 500, "INTERNAL_ERROR", True),
    ]
    return next(
        ((name, retried) for hit, name, retried in rules if hit), ("INVALID_PARAMETER", False)
    )


def _client_error(error: BaseException) -> tuple[str, bool]:
    """ERROR_CODE and whether it is retried, for an error raised before any answer."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"ReadTimeoutError", "ConnectTimeoutError", "TimeoutError"}:
        return "TIMEOUT", True
    if names & {"EndpointConnectionError", "ConnectionError", "ConnectionClosedError"}:
        return "CONNECTION_FAILURE", True
    if isinstance(error, NotImplementedError):  # a target LocalStack's core cannot deliver to
        return "UNKNOWN", False
    return "INTERNAL_ERROR", True


def classify(error: BaseException) -> Failure:
    """The ``ERROR_CODE`` EventBridge would give ``error``, and whether it retries it."""
    message = f"{type(error).__name__}: {error}"[:ERROR_MESSAGE_LIMIT]
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = str(response["Error"].get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) or 400)
        name, retriable = _api_error(code, status)
    else:
        name, retriable = _client_error(error)
    return Failure(name, message, retriable)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    max_age_s: float = DEFAULT_MAX_EVENT_AGE_S

    @classmethod
    def of(cls, target: dict[str, Any]) -> RetryPolicy:
        policy = target.get("RetryPolicy") or {}
        return cls(
            max_attempts=int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)),
            max_age_s=float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S)),
        )


@dataclass
class Delivery:
    """One event for one rule target, until it is delivered, dead-lettered or dropped."""

    sender: Any  # LocalStack's TargetSender: target (dict), rule_arn, account_id, region
    event: dict[str, Any]  # as LocalStack handed it to the target, before any transformation
    trace_header: Any
    first_attempt: float  # clock time of the first attempt
    retries: int = 0


DeadLetter = Callable[[Delivery, Failure, str | None], None]
Send = Callable[[Delivery], None]


@dataclass(order=True)
class _Due:
    at: float
    sequence: int
    delivery: Delivery = field(compare=False)


class Redeliveries:
    """Deliveries waiting for their next attempt, attempted by one background thread.

    ``failed`` decides what happens after a failed attempt; ``run_due`` attempts what is due
    (the thread calls it; unit tests call it with their own clock).
    """

    def __init__(
        self,
        send: Send,
        dead_letter: DeadLetter,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float], float] = lambda ceiling: random.uniform(0, ceiling),
    ) -> None:
        self._send = send
        self._dead_letter = dead_letter
        self._clock = clock
        self._jitter = jitter
        self._due: list[_Due] = []
        self._sequence = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def failed(self, delivery: Delivery, error: BaseException) -> None:
        """After a failed attempt: schedule a retry, or dead-letter (drop) the event."""
        failure = classify(error)
        policy = RetryPolicy.of(delivery.sender.target)
        if not failure.retriable:
            self._dead_letter(delivery, failure, None)
            return
        if delivery.retries >= policy.max_attempts:
            self._dead_letter(delivery, failure, "MaximumRetryAttempts")
            return
        delay = self._jitter(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**delivery.retries))
        due = self._clock() + delay
        if due - delivery.first_attempt > policy.max_age_s:
            self._dead_letter(delivery, failure, "MaximumEventAgeInSeconds")
            return
        with self._changed:
            heapq.heappush(self._due, _Due(due, next(self._sequence), delivery))
            self._changed.notify()

    def pending(self) -> int:
        with self._changed:
            return len(self._due)

    def next_due(self) -> float | None:
        with self._changed:
            return self._due[0].at if self._due else None

    def run_due(self) -> int:
        """Attempt every delivery that is due; how many were attempted."""
        attempted = 0
        while True:
            with self._changed:
                if not self._due or self._due[0].at > self._clock():
                    return attempted
                delivery = heapq.heappop(self._due).delivery
            delivery.retries += 1
            attempted += 1
            try:
                self._send(delivery)
            except Exception as error:
                self.failed(delivery, error)
            else:
                LOG.info(
                    "delivered to %s after %d retries",
                    delivery.sender.target["Arn"],
                    delivery.retries,
                )

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="orderflow-event-redelivery", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                wait = None if not self._due else max(0.0, self._due[0].at - self._clock())
                if wait is None or wait > 0:
                    self._changed.wait(wait)
            try:
                self.run_due()
            except Exception:  # never let the one redelivery thread die
                LOG.exception("event redelivery failed")


def dlq_attributes(delivery: Delivery, failure: Failure, exhausted: str | None) -> dict[str, Any]:
    """The message attributes of the DLQ message (EventBridge's names)."""

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    attributes = {
        "RULE_ARN": text(delivery.sender.rule_arn),
        "TARGET_ARN": text(delivery.sender.target["Arn"]),
        "ERROR_CODE": text(failure.code),
        "ERROR_MESSAGE": text(failure.message),
        "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": str(delivery.retries)},
    }
    if exhausted:
        attributes["EXHAUSTED_RETRY_CONDITION"] = text(exhausted)
    return attributes


def send_to_dead_letter_queue(delivery: Delivery, failure: Failure, exhausted: str | None) -> None:
    """The event to the target's DeadLetterConfig queue, or dropped (a WARNING) without one."""
    from localstack.aws.connect import connect_to
    from localstack.utils.aws.arns import (
        extract_account_id_from_arn,
        extract_region_from_arn,
        sqs_queue_url_for_arn,
    )

    target = delivery.sender.target
    dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq_arn:
        LOG.warning(
            "event %s dropped: no dead-letter queue on target %s of %s (%s: %s)",
            delivery.event.get("id"),
            target["Arn"],
            delivery.sender.rule_arn,
            failure.code,
            failure.message,
        )
        return
    sqs = connect_to(
        aws_access_key_id=extract_account_id_from_arn(dlq_arn),
        region_name=extract_region_from_arn(dlq_arn),
    ).sqs
    try:
        sqs.send_message(
            QueueUrl=sqs_queue_url_for_arn(dlq_arn),
            MessageBody=json.dumps(delivery.event),
            MessageAttributes=dlq_attributes(delivery, failure, exhausted),
        )
    except Exception as error:  # InvocationsFailedToBeSentToDLQ, on AWS
        LOG.warning(
            "event %s lost: could not send it to %s: %s", delivery.event.get("id"), dlq_arn, error
        )
        return
    LOG.info(
        "event %s to %s dead-lettered to %s (%s, %d retries)",
        delivery.event.get("id"),
        target["Arn"],
        dlq_arn,
        failure.code,
        delivery.retries,
    )


_REDELIVERIES: list[Redeliveries] = []


def honour_retry_policy_and_dlq() -> None:
    from localstack.services.events.target import TargetSender

    first_attempt = TargetSender.process_event

    def send(delivery: Delivery) -> None:
        first_attempt(delivery.sender, copy.deepcopy(delivery.event), delivery.trace_header)

    redeliveries = Redeliveries(send, send_to_dead_letter_queue)
    redeliveries.start()
    _REDELIVERIES[:] = [redeliveries]

    def process_event(self: Any, event: Any, trace_header: Any) -> None:
        kept = copy.deepcopy(event)
        if isinstance(kept, dict):
            kept.pop("event-bus-name", None)  # as the target (and a DLQ) would see it
        started = time.monotonic()
        try:
            first_attempt(self, event, trace_header)
        except Exception as error:
            redeliveries.failed(Delivery(self, kept, trace_header, started), error)
            raise  # LocalStack logs the failed attempt, as before

    TargetSender.process_event = process_event


def _senders_raise_what_fails() -> str | None:
    """The patch sees a failed delivery only if LocalStack's sender lets the error out."""
    import inspect

    from localstack.services.events import provider

    source = inspect.getsource(provider.EventsProvider._process_rules)
    if "target_sender.process_event(" not in source or "except Exception" not in source:
        return "EventsProvider._process_rules no longer calls process_event inside a try"
    return None


PATCHES = (
    Patch(
        name="events.target-retry-and-dlq",
        kind="behaviour",
        purpose=(
            "a rule target's failed delivery is retried per its RetryPolicy, then sent to its "
            "DeadLetterConfig queue with EventBridge's attributes, as on AWS"
        ),
        targets=(
            Target(
                "localstack.services.events.target",
                "TargetSender.process_event",
                parameters=("self", "event", "trace_header"),
            ),
            Target("localstack.services.events.provider", "EventsProvider._process_rules"),
            Target("localstack.utils.aws.arns", "sqs_queue_url_for_arn", parameters=("queue_arn",)),
            Target("localstack.aws.connect", "connect_to", shape="object"),
        ),
        apply=honour_retry_policy_and_dlq,
        check=_senders_raise_what_fails,
    ),
)
