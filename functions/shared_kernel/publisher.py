"""Publishes CloudEvents to an EventBridge bus and refuses to lose any silently.

``PutEvents`` can accept some entries of a call and refuse others (``FailedEntryCount``). The
entries refused for a transient reason (``InternalFailure``, ``ThrottlingException``) are put
again, alone, after a short jittered backoff, as AWS advises for partial failures; whatever
still fails raises ``PublishError``, so the caller's own retry (Lambda, the saga, the outbox
reconciler) takes over. Whole-call errors are retried by botocore, not here.

Each entry carries the X-Ray ``TraceHeader`` of the code that publishes it
(``shared_kernel.tracing.current_trace_header``: the current span as the parent), so rule
targets continue the order's trace, also when the publisher runs inside a record's span (the
outbox relay, a batch consumer) rather than in the invocation's own trace.
"""

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared_kernel.cloudevents import CloudEvent, to_put_events_entry
from shared_kernel.errors import TransientError
from shared_kernel.tracing import current_trace_header

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ENTRIES_PER_CALL = 10
RETRYABLE_ENTRY_ERRORS = frozenset({"InternalFailure", "ThrottlingException"})
ENTRY_RETRY_DELAYS_S = (0.05, 0.2)
"""Backoff caps before each retry of refused entries (full jitter: a uniform draw below)."""


class PublishError(TransientError):
    """Some events were not accepted by EventBridge; retrying the caller is safe because every
    consumer is idempotent by event id. `failures` maps event id -> error code/message."""

    def __init__(self, failures: dict[str, str]) -> None:
        listed = ", ".join(f"{event_id} ({error})" for event_id, error in failures.items())
        super().__init__(f"{len(failures)} event(s) not published: {listed}")
        self.failures = failures


class EventPublisher:
    def __init__(
        self,
        events_client: "EventBridgeClient",
        bus_name: str,
        sleep: Callable[[float], None] = time.sleep,
        trace_header: Callable[[], str | None] = current_trace_header,
    ) -> None:
        self._client = events_client
        self._bus_name = bus_name
        self._sleep = sleep
        self._trace_header = trace_header

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Put every event on the bus; raise PublishError naming each one that failed."""
        failures: dict[str, str] = {}
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            failures.update(self._put_with_retries(chunk))
        if failures:
            raise PublishError(failures)

    def _put_with_retries(self, chunk: Sequence[CloudEvent]) -> dict[str, str]:
        """Put ``chunk``, then again only its entries refused for a transient reason."""
        failures = self._put_chunk(chunk)
        for cap in ENTRY_RETRY_DELAYS_S:
            retry = [event for event in chunk if _retryable(failures.get(event.id))]
            if not retry:
                break
            self._sleep(random.uniform(0, cap))  # jitter, not security
            for event in retry:
                del failures[event.id]
            failures.update(self._put_chunk(retry))
        return failures

    def _put_chunk(self, chunk: Sequence[CloudEvent]) -> dict[str, str]:
        header = self._trace_header()
        entries: list[Any] = [
            to_put_events_entry(event, self._bus_name, trace_header=header) for event in chunk
        ]
        try:
            response = self._client.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            return {event.id: f"{type(exc).__name__}: {exc}" for event in chunk}
        if not response.get("FailedEntryCount"):
            return {}
        failures: dict[str, str] = {}
        for event, result in zip(chunk, response["Entries"], strict=True):
            if result.get("ErrorCode"):
                failures[event.id] = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
        return failures


def _retryable(failure: str | None) -> bool:
    """Whether an entry's failure (``"<ErrorCode>: <message>"``) is worth putting again."""
    return failure is not None and failure.split(":", 1)[0] in RETRYABLE_ENTRY_ERRORS
