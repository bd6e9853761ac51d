"""The transactional outbox relay's rules (storage and publishing are passed in)."""

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

from orders.models import OUTBOX_PENDING as PENDING
from orders.models import OUTBOX_SK, OutboxItem
from shared_kernel.cloudevents import CloudEvent


class RelayOutcome(StrEnum):
    SENT = "SENT"
    """Published, and this delivery marked the item SENT."""
    DUPLICATE = "DUPLICATE"
    """Published, but the item was SENT already: this delivery was a duplicate."""


class OutboxStore(Protocol):
    def mark_outbox_sent(self, event_id: str) -> bool: ...

    def record_outbox_failure(self, event_id: str, error: str) -> None: ...


class Publisher(Protocol):
    """shared_kernel.publisher.EventPublisher: raises PublishError if any event was refused."""

    def publish(self, events: Sequence[CloudEvent]) -> None: ...


def should_relay(
    event_name: str, new_image: Mapping[str, Any] | None, old_image: Mapping[str, Any] | None
) -> bool:
    """Whether a stream record asks for an outbox item to be published.

    INSERT or MODIFY of a PENDING outbox item, except a MODIFY that only records the relay's own
    failed attempt (its `attempts` changed): Lambda already retries that record, and relaying
    the bookkeeping change again would loop. An operator re-drives a stuck item by touching it
    without changing `attempts` (e.g. `SET redriveAt = <now>`).

    The event source's filter (infra/orders.py) already drops every record but those of PENDING
    outbox items; this check stays as defence in depth, and for the bookkeeping MODIFY, which a
    filter cannot tell apart (it would have to compare the old and new images).
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


def item_to_relay(
    event_name: str, new_image: Mapping[str, Any] | None, old_image: Mapping[str, Any] | None
) -> OutboxItem | None:
    """The outbox item a stream record asks to publish (read from its NewImage), or None."""
    if new_image is None or not should_relay(event_name, new_image, old_image):
        return None
    return OutboxItem.model_validate(new_image)


class OutboxRelay:
    def __init__(self, store: OutboxStore, publisher: Publisher) -> None:
        self._store = store
        self._publisher = publisher

    def relay(self, item: OutboxItem) -> RelayOutcome:
        """Publish the item's event, then mark the item SENT (only if it is still PENDING).

        One write, no read: the stream image is the item. The price is that a record delivered
        again after its item was SENT is published again (Lambda re-delivers the records that
        follow a failed one in a batch, and a whole batch after a function error or timeout);
        mark-SENT's condition then fails and the outcome is DUPLICATE. Consumers are idempotent
        by CloudEvent id (the bus's contract: EventBridge itself delivers at least once), which
        is why a rare duplicate publish is acceptable, and cheaper than a consistent read of the
        item before every publish.

        A failure is recorded on the item (attempts, lastError) and re-raised, so the record is
        reported in batchItemFailures and retried, not lost.
        """
        try:
            event = CloudEvent.model_validate_json(item.event)
            self._publisher.publish([event])
        except Exception as exc:
            self._store.record_outbox_failure(item.event_id, f"{type(exc).__name__}: {exc}")
            raise
        if self._store.mark_outbox_sent(item.event_id):
            return RelayOutcome.SENT
        return RelayOutcome.DUPLICATE
