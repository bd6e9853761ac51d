"""Pure rules of the orders service."""

from collections.abc import Sequence
from decimal import Decimal

import pytest
from pydantic import ValidationError

from orders.errors import OrderStateConflict, UnknownSku
from orders.logic.lifecycle import Transition, decide
from orders.logic.outbox import OutboxRelay, RelayOutcome, item_to_relay, should_relay
from orders.logic.pricing import price_items
from orders.logic.read_model import order_details
from orders.models import OrderStatus, OutboxItem
from shared_kernel.cloudevents import CloudEvent, new_event
from shared_kernel.models import OrderLine
from shared_kernel.publisher import PublishError

PRICES = {"A": Decimal("0.10"), "B": Decimal("19.99")}


def lookup(skus):
    return {sku: PRICES[sku] for sku in skus if sku in PRICES}


def test_total_is_exact_decimal_arithmetic():
    lines, total = price_items(
        [OrderLine(sku="A", quantity=3), OrderLine(sku="B", quantity=2)], lookup
    )
    assert total == Decimal("40.28")  # 0.30 + 39.98, no float drift
    assert [line.unit_price for line in lines] == [Decimal("0.10"), Decimal("19.99")]


def test_unknown_sku_names_its_line():
    with pytest.raises(UnknownSku) as raised:
        price_items([OrderLine(sku="A", quantity=1), OrderLine(sku="Z", quantity=1)], lookup)
    assert (raised.value.field, raised.value.reason) == ("items[1].sku", "UNKNOWN_SKU")


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (OrderStatus.PENDING, OrderStatus.CONFIRMED, Transition.APPLY),
        (OrderStatus.PENDING, OrderStatus.CANCELLED, Transition.APPLY),
        (OrderStatus.CONFIRMED, OrderStatus.CONFIRMED, Transition.ALREADY_DONE),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED, Transition.ALREADY_DONE),
        (OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStateConflict),
        (OrderStatus.CANCELLED, OrderStatus.CONFIRMED, OrderStateConflict),
    ],
)
def test_order_lifecycle(current, target, expected):
    if expected is OrderStateConflict:
        with pytest.raises(OrderStateConflict):
            decide("o", current, target)
    else:
        assert decide("o", current, target) is expected


PENDING_OUTBOX = {"pk": "OUTBOX#e", "sk": "OUTBOX", "status": "PENDING", "attempts": 0}


@pytest.mark.parametrize(
    ("event_name", "new", "old", "relay"),
    [
        ("INSERT", PENDING_OUTBOX, None, True),
        ("MODIFY", {**PENDING_OUTBOX, "redriveAt": "now"}, PENDING_OUTBOX, True),
        ("MODIFY", {**PENDING_OUTBOX, "attempts": 1}, PENDING_OUTBOX, False),
        ("MODIFY", {**PENDING_OUTBOX, "status": "SENT"}, PENDING_OUTBOX, False),
        ("INSERT", {"pk": "ORDER#o", "sk": "ORDER", "status": "PENDING"}, None, False),
        ("REMOVE", None, PENDING_OUTBOX, False),
    ],
)
def test_which_stream_records_are_relayed(event_name, new, old, relay):
    assert should_relay(event_name, new, old) is relay


PLACED = new_event("OrderPlaced", "orderflow.orders", "o-1", {"orderId": "o-1"}, "c-1")
PENDING_IMAGE = {
    "pk": f"OUTBOX#{PLACED.id}",
    "sk": "OUTBOX",
    "status": "PENDING",
    "event": PLACED.to_json(),
    "eventType": "OrderPlaced",
    "orderId": "o-1",
    "attempts": Decimal(0),  # the stream's deserializer gives numbers as Decimal
    "createdAt": "2025-01-15T10:00:00+00:00",
}


class StubStore:
    """The outbox store, recording every call; it has no read: the relay must need none."""

    def __init__(self, *, still_pending: bool = True) -> None:
        self.still_pending = still_pending
        self.calls: list[tuple[str, ...]] = []

    def mark_outbox_sent(self, event_id: str) -> bool:
        self.calls.append(("mark_outbox_sent", event_id))
        return self.still_pending

    def record_outbox_failure(self, event_id: str, error: str) -> None:
        self.calls.append(("record_outbox_failure", event_id, error))


class StubPublisher:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.published: list[CloudEvent] = []

    def publish(self, events: Sequence[CloudEvent]) -> None:
        if self.error is not None:
            raise self.error
        self.published.extend(events)


def relay_with(store: StubStore, publisher: StubPublisher, image=PENDING_IMAGE) -> RelayOutcome:
    item = item_to_relay("INSERT", image, None)
    assert item is not None
    return OutboxRelay(store, publisher).relay(item)


def test_the_item_to_relay_is_read_from_the_new_image():
    item = item_to_relay("INSERT", PENDING_IMAGE, None)
    assert item == OutboxItem.model_validate(PENDING_IMAGE)
    assert (item.event_id, item.order_id, item.attempts) == (PLACED.id, "o-1", 0)
    assert item_to_relay("MODIFY", {**PENDING_IMAGE, "status": "SENT"}, PENDING_IMAGE) is None


def test_an_outbox_image_without_its_event_is_refused():
    image = {key: value for key, value in PENDING_IMAGE.items() if key != "event"}
    with pytest.raises(ValidationError, match="event"):
        item_to_relay("INSERT", image, None)


def test_relay_publishes_the_images_event_and_marks_it_sent_without_a_read():
    # Given a store whose item is still PENDING
    store, publisher = StubStore(), StubPublisher()
    # When the relay handles the image of a new outbox item
    outcome = relay_with(store, publisher)
    # Then the image's event is published and one conditional write marks it SENT
    assert outcome is RelayOutcome.SENT
    assert publisher.published == [PLACED]
    assert store.calls == [("mark_outbox_sent", PLACED.id)]


def test_relay_of_an_item_already_sent_is_a_duplicate_not_an_error():
    # Given an item another delivery of the same record has marked SENT already
    store, publisher = StubStore(still_pending=False), StubPublisher()
    # When the relay handles the record again
    outcome = relay_with(store, publisher)
    # Then the event went out again (consumers dedupe by id) and the outcome says duplicate
    assert outcome is RelayOutcome.DUPLICATE
    assert publisher.published == [PLACED]
    assert store.calls == [("mark_outbox_sent", PLACED.id)]


@pytest.mark.parametrize(
    ("image", "publisher", "error"),
    [
        (PENDING_IMAGE, StubPublisher(PublishError({PLACED.id: "Throttling"})), PublishError),
        ({**PENDING_IMAGE, "event": "{not json"}, StubPublisher(), ValidationError),
    ],
    ids=["publish-failed", "corrupt-event"],
)
def test_a_failed_relay_is_recorded_on_the_item_and_raised(image, publisher, error):
    # Given a relay that fails: EventBridge refuses the event, or the stored event is corrupt
    store = StubStore()
    # When the record is relayed, then the error propagates (the record is reported failed)
    with pytest.raises(error) as raised:
        relay_with(store, publisher, image)
    # And the attempt is recorded on the item, which is not marked SENT
    assert store.calls == [
        ("record_outbox_failure", PLACED.id, f"{error.__name__}: {raised.value}")
    ]
    assert publisher.published == []


def entry(sequence: int, type: str, time: str, **data) -> dict:
    return {
        "sequence": sequence,
        "id": f"e{sequence}",
        "type": type,
        "source": "s",
        "time": time,
        "data": data,
    }


def test_order_details_show_the_status_of_the_history_they_return():
    # Given an order whose write model is already CONFIRMED while the projector lags
    order = {
        "sk": "ORDER",
        "status": "CONFIRMED",
        "customerId": "c",
        "total": Decimal("1.00"),
        "items": [{"sku": "A", "quantity": 1, "unitPrice": Decimal("1.00")}],
    }
    lagging = [
        entry(2, "ShipmentScheduled", "2025-01-15T10:30:01.000Z"),
        entry(1, "OrderPlaced", "2025-01-15T10:30:05.000Z"),  # a clock ahead of the others
    ]
    # When it is read
    details = order_details("o", order, lagging)
    # Then the status is that of its history (one snapshot), in sequence order
    assert details is not None
    assert details.status is OrderStatus.PENDING
    assert [e.type for e in details.history] == ["OrderPlaced", "ShipmentScheduled"]
    assert (details.total, details.items[0].sku) == (Decimal("1.00"), "A")
    # And once OrderConfirmed is recorded, the status follows
    caught_up = order_details(
        "o", order, [*lagging, entry(3, "OrderConfirmed", "2025-01-15T10:29:00.000Z")]
    )
    assert caught_up is not None
    assert caught_up.status is OrderStatus.CONFIRMED
    assert [e.sequence for e in caught_up.history] == [1, 2, 3]


def test_order_details_before_anything_is_projected_and_for_unknown_orders():
    order = {
        "sk": "ORDER",
        "status": "PENDING",
        "customerId": "c",
        "total": Decimal("1.00"),
        "items": [{"sku": "A", "quantity": 1, "unitPrice": Decimal("1.00")}],
    }
    details = order_details("o", order, [])
    assert details is not None
    assert (details.status, details.history) == (OrderStatus.PENDING, [])
    assert order_details("o", None, []) is None
    cancelled = order_details(
        "o",
        None,
        [
            entry(1, "OrderPlaced", "t", customerId="c", total="1.00"),
            entry(2, "OrderCancelled", "t", reason="OUT_OF_STOCK"),
        ],
    )
    assert cancelled is not None
    only_cancelled = order_details(
        "o", None, [entry(1, "OrderCancelled", "t", customerId="c", reason="OUT_OF_STOCK")]
    )
    assert only_cancelled is not None
    assert (only_cancelled.status, only_cancelled.customer_id) == (OrderStatus.CANCELLED, "c")
    assert (cancelled.status, cancelled.reason, cancelled.customer_id) == (
        OrderStatus.CANCELLED,
        "OUT_OF_STOCK",
        "c",
    )
