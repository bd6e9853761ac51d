"""The transactional outbox relay's rules (storage and publishing are passed in)."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from shared_kernel.cloudevents import CloudEvent
from shared_kernel.publisher import EventPublisher

OUTBOX_SK = "OUTBOX"
PENDING = "PENDING"
SENT = "SENT"


class RelayOutcome(StrEnum):
    SENT = "SENT"
    ALREADY_SENT = "ALREADY_SENT"
    MISSING = "MISSING"


class OutboxStore(Protocol):
    def get_outbox(self, event_id: str) -> dict[str, Any] | None: ...

    def mark_outbox_sent(self, event_id: str) -> bool: ...

    def record_outbox_failure(self, event_id: str, error: str) -> None: ...


def should_relay(
    event_name: str, new_image: Mapping[str, Any] | None, old_image: Mapping[str, Any] | None
) -> bool:
    """Whether a stream record asks for an outbox item to be published.

    INSERT or MODIFY of a PENDING outbox item, except a MODIFY that only records the relay's own
    failed attempt (its `attempts` changed): Lambda already retries that record, and relaying
    the bookkeeping change again would loop. An operator re-drives a stuck item by touching it
    without changing `attempts` (e.g. `SET redriveAt = <now>`).
    """
    if event_name not in ("INSERT", "MODIFY") or not new_image:
        return False
    if new_image.get("sk") != OUTBOX_SK or new_image.get("status") != PENDING:
        return False
    return not (
        event_name == "MODIFY"
        and old_image is not None
        and old_image.get("attempts") != new_image.get("attempts")
    )


def event_id_of(image: Mapping[str, Any]) -> str:
    return str(image["pk"]).removeprefix("OUTBOX#")


class OutboxRelay:
    def __init__(self, store: OutboxStore, publisher: EventPublisher) -> None:
        self._store = store
        self._publisher = publisher

    def relay(self, event_id: str) -> RelayOutcome:
        """Publish the outbox item's event, then mark it SENT. An item already SENT is skipped
        (the stream delivers at least once). A failure is recorded on the item (attempts,
        lastError) and re-raised so the record is retried, not lost."""
        item = self._store.get_outbox(event_id)
        if item is None:
            return RelayOutcome.MISSING
        if item.get("status") == SENT:
            return RelayOutcome.ALREADY_SENT
        try:
            event = CloudEvent.model_validate_json(str(item["event"]))
            self._publisher.publish([event])
        except Exception as exc:
            self._store.record_outbox_failure(event_id, f"{type(exc).__name__}: {exc}")
            raise
        self._store.mark_outbox_sent(event_id)
        return RelayOutcome.SENT
