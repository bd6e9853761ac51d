"""The read-model projector, fed EventBridge deliveries of the sample events."""

import pytest

from orders.handlers import projector
from shared_kernel.errors import MalformedEventError
from tests.sample_events import DOMAIN_SAMPLES, fresh_delivery


def view(orders_table, order_id: str) -> dict:
    [item] = [i for i in orders_table.items(f"ORDER#{order_id}") if i["sk"] == "VIEW"]
    return item


def history(orders_table, order_id: str) -> list[dict]:
    return [i for i in orders_table.items(f"ORDER#{order_id}") if i["sk"].startswith("EVENT#")]


def test_order_placed_creates_a_pending_view_without_the_payment_token(
    orders_table, lambda_context
):
    delivery = fresh_delivery("order-placed", "order-1")
    projector.handler(delivery, lambda_context)
    projected = view(orders_table, "order-1")
    assert (projected["status"], projected["customerId"], str(projected["total"])) == (
        "PENDING",
        "customer-42",
        "29.99",
    )
    [entry] = history(orders_table, "order-1")
    assert entry["sk"] == f"EVENT#2025-01-15T10:30:00.000Z#{delivery['detail']['id']}"
    assert "paymentToken" not in entry["data"]
    assert entry["data"]["orderId"] == "order-1"


def test_duplicate_delivery_is_recorded_once(orders_table, lambda_context):
    delivery = fresh_delivery("inventory-reserved", "order-1")
    first = projector.handler(delivery, lambda_context)
    second = projector.handler(delivery, lambda_context)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert len(history(orders_table, "order-1")) == 1


def test_confirmation_wins_over_a_late_order_placed(orders_table, lambda_context):
    # Given OrderConfirmed is delivered before OrderPlaced
    projector.handler(fresh_delivery("order-confirmed", "order-1"), lambda_context)
    projector.handler(fresh_delivery("order-placed", "order-1"), lambda_context)
    # Then the order stays CONFIRMED and still gets its items and total
    projected = view(orders_table, "order-1")
    assert projected["status"] == "CONFIRMED"
    assert [line["sku"] for line in projected["items"]] == ["SKU-MUG-001", "SKU-STK-004"]


def test_cancellation_records_the_reason(orders_table, lambda_context):
    projector.handler(fresh_delivery("order-placed", "order-1"), lambda_context)
    projector.handler(fresh_delivery("order-cancelled", "order-1"), lambda_context)
    projected = view(orders_table, "order-1")
    assert (projected["status"], projected["reason"]) == ("CANCELLED", "PAYMENT_DECLINED")


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_every_domain_event_lands_in_the_history(orders_table, lambda_context, name):
    delivery = fresh_delivery(name, "order-1")
    projector.handler(delivery, lambda_context)
    [entry] = history(orders_table, "order-1")
    assert (entry["type"], entry["id"]) == (delivery["detail-type"], delivery["detail"]["id"])


def test_malformed_order_placed_is_rejected_and_nothing_is_written(orders_table, lambda_context):
    with pytest.raises(MalformedEventError) as raised:
        projector.handler(fresh_delivery("malformed-order-placed", "order-1"), lambda_context)
    assert raised.value.field == "data.items"
    assert orders_table.items() == []


def test_envelope_that_disagrees_with_its_cloudevent_is_rejected(orders_table, lambda_context):
    delivery = fresh_delivery("order-confirmed", "order-1")
    delivery["detail-type"] = "OrderCancelled"
    with pytest.raises(MalformedEventError) as raised:
        projector.handler(delivery, lambda_context)
    assert raised.value.field == "detail-type"
    assert orders_table.items() == []
