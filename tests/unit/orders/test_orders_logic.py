"""Pure rules of the orders service."""

from decimal import Decimal

import pytest

from orders.errors import OrderStateConflict, UnknownSku
from orders.logic.lifecycle import Transition, decide
from orders.logic.outbox import should_relay
from orders.logic.pricing import price_items
from orders.logic.read_model import order_details
from orders.models import OrderStatus
from shared_kernel.models import OrderLine

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


def test_order_details_fall_back_to_the_order_until_projected():
    order = {"sk": "ORDER", "status": "PENDING", "customerId": "c", "total": Decimal("1.00")}
    items = [{"sku": "A", "quantity": 1, "unitPrice": Decimal("1.00")}]
    details = order_details("o", [{**order, "items": items}])
    assert details is not None
    assert (details.status, details.total) == (OrderStatus.PENDING, Decimal("1.00"))
    projected = order_details(
        "o", [{**order, "items": items}, {"sk": "VIEW", "status": "CONFIRMED"}]
    )
    assert projected is not None
    assert (projected.status, projected.items[0].sku) == (OrderStatus.CONFIRMED, "A")
    assert order_details("o", []) is None
