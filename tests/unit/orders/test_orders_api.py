"""POST /orders and GET /orders/{orderId}."""

import json
from decimal import Decimal

import pytest

from orders.handlers import get_order, place_order, projector
from shared_kernel.cloudevents import CloudEvent
from tests.sample_events import fresh_delivery
from tests.unit.domain_common.apigw import api_event, json_body

VALID_BODY = {
    "customerId": "customer-42",
    "items": [{"sku": "SKU-MUG-001", "quantity": 2}, {"sku": "SKU-STK-004", "quantity": 1}],
    "paymentToken": "tok_ok",
}


def post(body, lambda_context, headers=None) -> dict:
    return place_order.handler(
        api_event("POST", "/orders", body=body, headers=headers), lambda_context
    )


def get(order_id: str, lambda_context) -> dict:
    event = api_event(
        "GET",
        f"/orders/{order_id}",
        resource="/orders/{orderId}",
        path_parameters={"orderId": order_id},
    )
    return get_order.handler(event, lambda_context)


def test_place_order_stores_order_and_outbox_event_together(orders_table, lambda_context):
    # When a valid order is posted with a correlation id
    response = post(VALID_BODY, lambda_context, headers={"X-Correlation-Id": "corr-from-client"})
    # Then it is accepted as PENDING
    assert response["statusCode"] == 202
    body = json_body(response)
    order_id = body["orderId"]
    assert body == {"orderId": order_id, "status": "PENDING"}
    assert response["multiValueHeaders"]["Location"] == [f"/orders/{order_id}"]
    # And the order is priced from the catalogue (2 x 12.50 + 4.99) without the payment token
    [order] = orders_table.items(f"ORDER#{order_id}")
    assert order["status"] == "PENDING"
    assert order["total"] == Decimal("29.99")
    assert order["items"][0] == {"sku": "SKU-MUG-001", "quantity": 2, "unitPrice": Decimal("12.50")}
    assert "paymentToken" not in order
    # And OrderPlaced waits in the outbox, complete, for the relay
    [outbox] = orders_table.outbox()
    assert (outbox["status"], outbox["attempts"], outbox["eventType"]) == (
        "PENDING",
        0,
        "OrderPlaced",
    )
    placed = CloudEvent.model_validate_json(outbox["event"])
    assert outbox["pk"] == f"OUTBOX#{placed.id}"
    assert (placed.subject, placed.correlationid, placed.causationid) == (
        order_id,
        "corr-from-client",
        None,
    )
    assert placed.data["total"] == "29.99"
    assert placed.data["paymentToken"] == "tok_ok"


def test_place_order_without_correlation_header_uses_the_request_id(orders_table, lambda_context):
    post(VALID_BODY, lambda_context)
    [outbox] = orders_table.outbox()
    assert CloudEvent.model_validate_json(outbox["event"]).correlationid == (
        "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    )


def test_unknown_sku_is_a_400_naming_the_line_and_stores_nothing(orders_table, lambda_context):
    body = {**VALID_BODY, "items": [*VALID_BODY["items"], {"sku": "SKU-NOPE", "quantity": 1}]}
    response = post(body, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["errors"] == [{"field": "items[2].sku", "problem": "unknown sku"}]
    assert orders_table.items() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID_BODY, "items": []}, "items"),
        ({**VALID_BODY, "items": [{"sku": "SKU-MUG-001", "quantity": 1}] * 26}, "items"),
        ({**VALID_BODY, "items": [{"sku": "SKU-MUG-001", "quantity": 0}]}, "items[0].quantity"),
        ({k: v for k, v in VALID_BODY.items() if k != "paymentToken"}, "paymentToken"),
        ({**VALID_BODY, "customerId": ""}, "customerId"),
    ],
)
def test_invalid_body_is_a_400_naming_the_field(orders_table, lambda_context, body, field):
    response = post(body, lambda_context)
    assert response["statusCode"] == 400
    assert field in [error["field"] for error in json_body(response)["errors"]]
    assert orders_table.items() == []


def test_body_that_is_not_json_is_a_400(orders_table, lambda_context):
    response = post("{not json", lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["errors"][0]["field"] == "body"


def test_get_unknown_order_is_404(orders_table, lambda_context):
    assert get("no-such-order", lambda_context)["statusCode"] == 404


def test_get_right_after_post_shows_the_pending_order(orders_table, lambda_context):
    order_id = json_body(post(VALID_BODY, lambda_context))["orderId"]
    response = get(order_id, lambda_context)
    assert response["statusCode"] == 200
    body = json_body(response)
    assert (body["status"], body["total"], body["history"]) == ("PENDING", "29.99", [])


def test_get_shows_projected_status_reason_and_ordered_history(orders_table, lambda_context):
    # Given an order's events projected in the order they happened
    order_id = "order-history"
    names = ["order-placed", "inventory-reserved", "payment-declined", "order-cancelled"]
    deliveries = [fresh_delivery(name, order_id) for name in names]
    for position, delivery in enumerate(deliveries):
        delivery["detail"]["time"] = f"2025-01-15T10:30:0{position}.000Z"
    for delivery in reversed(deliveries):  # delivered out of order
        projector.handler(delivery, lambda_context)
    # When the order is read
    body = json_body(get(order_id, lambda_context))
    # Then it is cancelled with the reason, its history is in time order, and no secret leaks
    assert (body["status"], body["reason"], body["total"]) == (
        "CANCELLED",
        "PAYMENT_DECLINED",
        "29.99",
    )
    assert [entry["type"] for entry in body["history"]] == [
        "OrderPlaced",
        "InventoryReserved",
        "PaymentDeclined",
        "OrderCancelled",
    ]
    assert [entry["id"] for entry in body["history"]] == [d["detail"]["id"] for d in deliveries]
    assert "tok_" not in json.dumps(body)
