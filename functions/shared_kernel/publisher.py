"""Publishes CloudEvents to an EventBridge bus and refuses to lose any silently."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared_kernel.cloudevents import CloudEvent, to_put_events_entry
from shared_kernel.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ENTRIES_PER_CALL = 10


class PublishError(TransientError):
    """Some events were not accepted by EventBridge; retrying the caller is safe because every
    consumer is idempotent by event id. `failures` maps event id -> error code/message."""

    def __init__(self, failures: dict[str, str]) -> None:
        listed = ", ".join(f"{event_id} ({error})" for event_id, error in failures.items())
        super().__init__(f"{len(failures)} event(s) not published: {listed}")
        self.failures = failures


class EventPublisher:
    def __init__(self, events_client: "EventBridgeClient", bus_name: str) -> None:
        self._client = events_client
        self._bus_name = bus_name

    def publish(self, events: Sequence[CloudEvent]) -> None:
        """Put every event on the bus; raise PublishError naming each one that failed."""
        failures: dict[str, str] = {}
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            failures.update(self._put_chunk(chunk))
        if failures:
            raise PublishError(failures)

    def _put_chunk(self, chunk: Sequence[CloudEvent]) -> dict[str, str]:
        entries: list[Any] = [to_put_events_entry(event, self._bus_name) for event in chunk]
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
