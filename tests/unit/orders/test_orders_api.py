"""POST /orders and GET /orders/{orderId}."""

import base64
import json
from decimal import Decimal

import pytest

from orders.handlers import get_order, place_order, projector
from shared_kernel.cloudevents import CloudEvent
from tests.sample_events import fresh_delivery
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import PREMIUM_KEY_ID
from tests.unit.domain_common.sqs import sqs_record

CUSTOMER = "customer-42"
VALID_BODY = {
    "items": [{"sku": "SKU-MUG-001", "quantity": 2}, {"sku": "SKU-STK-004", "quantity": 1}],
    "paymentToken": "tok_ok",
}


def post(body, lambda_context, headers=None, api_key_id=PREMIUM_KEY_ID, customer=CUSTOMER):
    event = api_event(
        "POST", "/orders", body=body, headers=headers, api_key_id=api_key_id, customer=customer
    )
    return place_order.handler(event, lambda_context)


def get(order_id: str, lambda_context, customer: str | None = CUSTOMER) -> dict:
    event = api_event(
        "GET",
        f"/orders/{order_id}",
        resource="/orders/{orderId}",
        path_parameters={"orderId": order_id},
        api_key_id=PREMIUM_KEY_ID,
        customer=customer,
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
    # And the order is priced from the catalogue (2 x 12.50 + 4.99) without the payment token,
    # which is kept in an item of its own
    order, token = orders_table.items(f"ORDER#{order_id}")
    assert token == {"pk": f"ORDER#{order_id}", "sk": "PAYMENT_TOKEN", "paymentToken": "tok_ok"}
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
    # And the event carries no payment token (data minimisation)
    assert "paymentToken" not in placed.data


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


def test_every_unknown_sku_is_named(orders_table, lambda_context):
    items = [{"sku": "SKU-NOPE-1", "quantity": 1}, *VALID_BODY["items"]]
    body = {**VALID_BODY, "items": [*items, {"sku": "SKU-NOPE-2", "quantity": 1}]}
    response = post(body, lambda_context)
    assert [e["field"] for e in json_body(response)["errors"]] == ["items[0].sku", "items[3].sku"]


def line(**changes) -> dict:
    return {"sku": "SKU-MUG-001", "quantity": 1, **changes}


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        pytest.param({**VALID_BODY, "items": []}, "items", "at least 1 item", id="no items"),
        pytest.param(
            {**VALID_BODY, "items": [line()] * 26}, "items", "at most 25 items", id="26 items"
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantity=0)]},
            "items[0].quantity",
            "greater than 0",
            id="zero quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(), line(quantity=-3)]},
            "items[1].quantity",
            "greater than 0",
            id="negative quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantity=1001)]},
            "items[0].quantity",
            "less than or equal to 1000",
            id="huge quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantity="2")]},
            "items[0].quantity",
            "valid integer",
            id="quantity as a string",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantity=1.5)]},
            "items[0].quantity",
            "valid integer",
            id="fractional quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantity=True)]},
            "items[0].quantity",
            "valid integer",
            id="boolean quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(sku="mug 1")]},
            "items[0].sku",
            "match pattern",
            id="sku of the wrong shape",
        ),
        pytest.param(
            {**VALID_BODY, "items": [{"sku": "SKU-MUG-001"}]},
            "items[0].quantity",
            "required",
            id="line without quantity",
        ),
        pytest.param(
            {**VALID_BODY, "items": [line(quantiy=2)]},
            "items[0].quantiy",
            "not permitted",
            id="unknown field in a line",
        ),
        pytest.param(
            {**VALID_BODY, "discount": "100%"}, "discount", "not permitted", id="unknown field"
        ),
        pytest.param(
            {**VALID_BODY, "items": {"sku": "SKU-MUG-001"}},
            "items",
            "valid list",
            id="items object",
        ),
        pytest.param(
            {k: v for k, v in VALID_BODY.items() if k != "paymentToken"},
            "paymentToken",
            "required",
            id="no payment token",
        ),
        pytest.param(
            {**VALID_BODY, "customerId": CUSTOMER},
            "customerId",
            "Extra inputs are not permitted",
            id="customerId in the body (the token names the customer)",
        ),
        pytest.param(
            {**VALID_BODY, "items": [{"sku": "SKU-MUG-001\t", "quantity": 1}]},
            "items[0].sku",
            "match pattern",
            id="sku with a tab",
        ),
        pytest.param(
            {**VALID_BODY, "paymentToken": "tok ok"},
            "paymentToken",
            "match pattern",
            id="token with a space",
        ),
        pytest.param([VALID_BODY], "body", "JSON object", id="array body"),
        pytest.param('"an order"', "body", "JSON object", id="string body"),
        pytest.param("null", "body", "required", id="null body"),
        pytest.param("{not json", "body", "not valid JSON", id="malformed JSON"),
        pytest.param('{"paymentToken": "c",', "body", "not valid JSON", id="truncated JSON"),
    ],
)
def test_invalid_body_is_a_400_naming_the_field_and_stores_nothing(
    orders_table, lambda_context, body, field, problem
):
    # When a body that breaks one rule is posted
    response = post(body, lambda_context)
    # Then it is a 400 whose errors name the field and the problem
    assert response["statusCode"] == 400
    errors = json_body(response)["errors"]
    assert any(e["field"] == field and problem in e["problem"] for e in errors), errors
    # And nothing was written
    assert orders_table.items() == []


def test_a_body_that_is_not_utf8_is_a_400_and_stores_nothing(orders_table, lambda_context):
    # API Gateway hands a body that is not UTF-8 over base64-encoded
    event = api_event("POST", "/orders", api_key_id=PREMIUM_KEY_ID, customer=CUSTOMER)
    event |= {"body": base64.b64encode(b"\x0b\t\xff!").decode(), "isBase64Encoded": True}
    response = place_order.handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["errors"] == [{"field": "body", "problem": "not UTF-8 encoded JSON"}]
    assert orders_table.items() == []


def test_a_base64_encoded_json_body_is_placed(orders_table, lambda_context):
    event = api_event("POST", "/orders", api_key_id=PREMIUM_KEY_ID, customer=CUSTOMER)
    encoded = base64.b64encode(json.dumps(VALID_BODY).encode()).decode()
    event |= {"body": encoded, "isBase64Encoded": True}
    assert place_order.handler(event, lambda_context)["statusCode"] == 202


def test_a_body_that_is_not_json_by_content_type_is_a_415(orders_table, lambda_context):
    headers = {"Content-Type": "text/plain"}
    response = post(VALID_BODY, lambda_context, headers=headers)
    assert response["statusCode"] == 415
    assert json_body(response)["errors"][0]["field"] == "Content-Type"
    assert orders_table.items() == []


def test_a_body_over_16_kib_is_a_413_and_stores_nothing(orders_table, lambda_context):
    body = {**VALID_BODY, "paymentToken": "c" * (16 * 1024)}
    response = post(body, lambda_context)
    assert response["statusCode"] == 413
    assert json_body(response)["errors"][0]["field"] == "body"
    assert orders_table.items() == []


def test_the_largest_valid_body_fits_the_size_limit(orders_table, lambda_context):
    body = {
        "items": [{"sku": "SKU-MUG-001", "quantity": 1000}] * 25,
        "paymentToken": "t" * 128,
    }
    assert post(json.dumps(body, indent=4), lambda_context)["statusCode"] == 202


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Idempotency-Key": ""}, "Idempotency-Key"),
        ({"Idempotency-Key": "k" * 256}, "Idempotency-Key"),
        ({"Idempotency-Key": "has spaces"}, "Idempotency-Key"),
        ({"X-Correlation-Id": "x" * 129}, "X-Correlation-Id"),
    ],
)
def test_invalid_headers_are_400s(orders_table, lambda_context, headers, field):
    response = post(VALID_BODY, lambda_context, headers=headers)
    assert response["statusCode"] == 400
    assert [e["field"].lower() for e in json_body(response)["errors"]] == [field.lower()]
    assert orders_table.items() == []


@pytest.mark.parametrize("order_id", ["a" * 65, "-starts-with-dash", "has.dot"])
def test_get_with_an_impossible_order_id_is_400(orders_table, lambda_context, order_id):
    response = get(order_id, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["errors"][0]["field"] == "orderId"


def test_get_unknown_order_is_404(orders_table, lambda_context):
    assert get("no-such-order", lambda_context)["statusCode"] == 404


def test_get_right_after_post_shows_the_pending_order(orders_table, lambda_context):
    order_id = json_body(post(VALID_BODY, lambda_context))["orderId"]
    response = get(order_id, lambda_context)
    assert response["statusCode"] == 200
    body = json_body(response)
    assert (body["status"], body["total"], body["history"]) == ("PENDING", "29.99", [])


def test_get_shows_projected_status_reason_and_history_in_sequence_not_clock_order(
    orders_table, lambda_context
):
    # Given an order's events, written by functions whose clocks disagree: each later event
    # carries an earlier time than the one before it
    order_id = "order-history"
    names = ["order-placed", "inventory-reserved", "payment-declined", "order-cancelled"]
    deliveries = [fresh_delivery(name, order_id) for name in names]
    for position, delivery in enumerate(deliveries):
        delivery["detail"]["time"] = f"2025-01-15T10:30:0{9 - position}.000Z"
    # projected as they happened, in one batch from the projection queue
    batch = {"Records": [sqs_record(delivery) for delivery in deliveries]}
    assert projector.handler(batch, lambda_context) == {"batchItemFailures": []}
    # When the order is read
    body = json_body(get(order_id, lambda_context))
    # Then it is cancelled with the reason, its history is in sequence order (1, 2, ...)
    # whatever the clocks said, and no secret leaks
    assert [entry["sequence"] for entry in body["history"]] == [1, 2, 3, 4]
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


def test_the_order_is_the_token_customers(orders_table, lambda_context):
    order_id = json_body(post(VALID_BODY, lambda_context, customer="customer-77"))["orderId"]
    [order] = [i for i in orders_table.items(f"ORDER#{order_id}") if i["sk"] == "ORDER"]
    assert order["customerId"] == "customer-77"
    assert json_body(get(order_id, lambda_context, customer="customer-77"))["customerId"] == (
        "customer-77"
    )


def test_another_customers_order_is_answered_like_an_unknown_one(orders_table, lambda_context):
    # Given an order of customer-42
    order_id = json_body(post(VALID_BODY, lambda_context))["orderId"]
    # When another customer asks for it
    theirs = get(order_id, lambda_context, customer="customer-43")
    # Then the answer is the one an order id nobody has gets: nothing to enumerate
    orders_table.table.delete_item(Key={"pk": f"ORDER#{order_id}", "sk": "ORDER"})
    unknown = get(order_id, lambda_context, customer="customer-43")
    assert theirs["statusCode"] == unknown["statusCode"] == 404
    assert theirs["body"] == unknown["body"]
    volatile = {"RateLimit-Remaining", "RateLimit-Reset", "X-Quota-Remaining"}  # per request
    assert {k: v for k, v in theirs["multiValueHeaders"].items() if k not in volatile} == {
        k: v for k, v in unknown["multiValueHeaders"].items() if k not in volatile
    }


def test_without_a_token_nothing_is_placed_or_shown(orders_table, lambda_context):
    assert post(VALID_BODY, lambda_context, customer=None)["statusCode"] == 401
    assert orders_table.items() == []
    assert get("some-order", lambda_context, customer=None)["statusCode"] == 401
