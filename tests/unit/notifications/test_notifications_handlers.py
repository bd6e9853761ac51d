"""Customer notifier and audit recorder, fed SQS messages from the order-outcomes topic."""

import json

import pytest

from notifications.handlers import audit_recorder, customer_notifier
from shared_kernel.cloudevents import CloudEvent
from tests.sample_events import fresh_delivery
from tests.unit.domain_common.sqs import sns_envelope, sqs_record


def run(handler, bodies, lambda_context, ids=None) -> dict:
    records = [
        sqs_record(body, message_id=(ids or {}).get(index)) for index, body in enumerate(bodies)
    ]
    return handler.handler({"Records": records}, lambda_context)


def test_confirmation_reaches_the_customer(tables, lambda_context):
    # The queue is subscribed with raw delivery: the body is the EventBridge event
    delivery = fresh_delivery("order-confirmed", "order-1")
    assert run(customer_notifier, [delivery], lambda_context) == {"batchItemFailures": []}
    [stored] = tables.items(tables.notifications)
    assert stored["pk"] == f"NOTIFICATION#{delivery['detail']['id']}"
    assert (stored["customerId"], stored["orderId"]) == ("customer-42", "order-1")
    assert stored["subject"] == "Order order-1 confirmed"
    assert "Total charged: 29.99" in stored["body"]


def test_cancellation_explains_the_reason(tables, lambda_context):
    delivery = fresh_delivery("order-cancelled", "order-1")
    run(customer_notifier, [delivery], lambda_context)
    [stored] = tables.items(tables.notifications)
    assert stored["subject"] == "Order order-1 cancelled"
    assert "your payment was declined" in stored["body"]


def test_redelivered_message_notifies_once(tables, lambda_context):
    body = fresh_delivery("order-confirmed", "order-1")
    run(customer_notifier, [body], lambda_context)
    run(customer_notifier, [body, body], lambda_context)
    assert len(tables.items(tables.notifications)) == 1


def test_other_events_are_acknowledged_without_a_message(tables, lambda_context):
    body = fresh_delivery("inventory-reserved", "order-1")
    assert run(customer_notifier, [body], lambda_context) == {"batchItemFailures": []}
    assert tables.items(tables.notifications) == []


MALFORMED = {
    "not json": "{oops",
    "an SNS envelope (raw delivery is on)": sns_envelope(fresh_delivery("order-confirmed")),
    "a bare cloudevent": fresh_delivery("order-confirmed")["detail"],
    "not an eventbridge event": {"hello": "world"},
    "cloudevent without correlationid": {
        **fresh_delivery("order-confirmed"),
        "detail": {
            k: v
            for k, v in fresh_delivery("order-confirmed")["detail"].items()
            if k != "correlationid"
        },
    },
}


@pytest.mark.parametrize("handler", [customer_notifier, audit_recorder])
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_message_fails_only_its_record(tables, lambda_context, handler, name):
    good = fresh_delivery("order-confirmed", "order-1")
    response = run(handler, [good, MALFORMED[name]], lambda_context, ids={1: "bad"})
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    table = tables.notifications if handler is customer_notifier else tables.audit
    assert len(tables.items(table)) == 1


def test_cancellation_without_reason_cannot_be_rendered(tables, lambda_context):
    delivery = fresh_delivery("order-cancelled", "order-1")
    del delivery["detail"]["data"]["reason"]
    response = run(customer_notifier, [delivery], lambda_context, ids={0: "m1"})
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_audit_appends_each_event_once_in_time_order(tables, lambda_context):
    # Given two outcome events of one order, the first delivered twice
    confirmed = fresh_delivery("order-confirmed", "order-1")
    cancelled = fresh_delivery("order-cancelled", "order-1")
    confirmed["detail"]["time"] = "2025-01-15T10:30:01.000Z"
    cancelled["detail"]["time"] = "2025-01-15T10:30:02.000Z"
    bodies = [cancelled, confirmed, confirmed]
    # When the audit recorder processes them
    assert run(audit_recorder, bodies, lambda_context) == {"batchItemFailures": []}
    # Then the trail holds each event once, ordered by time, with the full CloudEvent
    trail = tables.items(tables.audit)
    assert [entry["type"] for entry in trail] == ["OrderConfirmed", "OrderCancelled"]
    assert {entry["pk"] for entry in trail} == {"ORDER#order-1"}
    stored = CloudEvent.model_validate_json(trail[0]["event"])
    assert stored.id == confirmed["detail"]["id"]
    assert json.loads(trail[1]["event"])["data"]["reason"] == "PAYMENT_DECLINED"
