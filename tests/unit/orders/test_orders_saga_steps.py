"""The saga steps owned by orders: RecordOrder, ConfirmOrder, CancelOrder."""

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders.errors import OrderNotFound, OrderStateConflict, SagaAlreadyStarted
from orders.handlers import cancel_order, confirm_order, place_order, record_order
from orders.logic.orders import completion_latency_ms
from orders.models import Order
from shared_kernel.cloudevents import CloudEvent, to_put_events_entry
from shared_kernel.errors import MalformedEventError
from tests.sample_events import delivered, fresh_delivery
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.calls import dynamodb_calls


def placed_through_api(lambda_context) -> str:
    body = {"items": [{"sku": "SKU-CAP-003", "quantity": 2}], "paymentToken": "tok_flaky"}
    event = api_event("POST", "/orders", body=body, customer="customer-7")
    response = place_order.handler(event, lambda_context)
    return json_body(response)["orderId"]


def outbox_events(orders_table) -> list[CloudEvent]:
    return [CloudEvent.model_validate_json(item["event"]) for item in orders_table.outbox()]


EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:saga:first"
SECOND_EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:saga:second"


def started(event: dict, execution: str = EXECUTION) -> dict:
    """RecordOrder's input, as the state machine builds it."""
    return {"event": event, "executionId": execution}


def step(order_id: str, **extra) -> dict:
    return {"orderId": order_id, "correlationId": "corr-1", "causationId": "placed-1", **extra}


def test_record_order_creates_an_order_sent_straight_to_the_bus(orders_table, lambda_context):
    # Given an OrderPlaced put on the bus by hand (no API call, so no order yet)
    delivery = fresh_delivery("order-placed", "order-bus")
    # When the saga's first step runs on the EventBridge event
    with dynamodb_calls() as calls:
        state = record_order.handler(started(delivery), lambda_context)
    # Then the order exists as PENDING and the saga state carries what later steps need
    assert state == {
        "orderId": "order-bus",
        "customerId": "customer-42",
        "items": [
            {"sku": "SKU-MUG-001", "quantity": 2, "unitPrice": "12.50"},
            {"sku": "SKU-STK-004", "quantity": 1, "unitPrice": "4.99"},
        ],
        "total": "29.99",
        "correlationId": delivery["detail"]["correlationid"],
        "causationId": delivery["detail"]["id"],
    }
    # And the token the event carried is stored with the order, not passed on in the state
    order, token = orders_table.items("ORDER#order-bus")
    assert (order["status"], order["total"]) == ("PENDING", Decimal("29.99"))
    assert order["sagaExecution"] == EXECUTION
    assert "paymentToken" not in order
    assert token == {"pk": "ORDER#order-bus", "sk": "PAYMENT_TOKEN", "paymentToken": "tok_ok"}
    assert orders_table.outbox() == []  # the event is already on the bus
    # the token, the refused claim (no order yet), the create
    assert calls == ["PutItem", "UpdateItem", "PutItem"]


def test_record_order_is_idempotent(orders_table, lambda_context):
    delivery = fresh_delivery("order-placed", "order-bus")
    first = record_order.handler(started(delivery), lambda_context)
    # the same execution repeats the step (a retry after a timeout): same answer
    second = record_order.handler(started(delivery), lambda_context)
    assert first == second
    assert len(orders_table.items("ORDER#order-bus")) == 2  # the order and its token


def test_a_second_execution_for_the_same_order_is_refused(orders_table, lambda_context):
    # Given an execution that recorded the order and runs its saga
    delivery = fresh_delivery("order-placed", "order-bus")
    record_order.handler(started(delivery), lambda_context)
    before = orders_table.items()
    # When the same OrderPlaced, delivered again, starts a second execution
    with pytest.raises(SagaAlreadyStarted) as raised:
        record_order.handler(started(delivery, SECOND_EXECUTION), lambda_context)
    # Then the second one is told who owns the saga, and nothing changed
    assert raised.value.details == {"order_id": "order-bus", "owner": EXECUTION}
    assert orders_table.items() == before


def test_record_order_keeps_an_order_placed_through_the_api(orders_table, lambda_context):
    # Given an order placed through the API, and its OrderPlaced as the relay published it
    order_id = placed_through_api(lambda_context)
    [placed] = outbox_events(orders_table)
    delivery = delivered(to_put_events_entry(placed, "orderflow-test"))
    before, token_before = orders_table.items(f"ORDER#{order_id}")
    # When the saga starts on it
    with dynamodb_calls() as calls:
        state = record_order.handler(started(delivery), lambda_context)
    # Then the stored order is used unchanged, claimed for this execution only, in one request
    assert calls == ["UpdateItem"]
    after, token_after = orders_table.items(f"ORDER#{order_id}")
    assert after == {**before, "sagaExecution": EXECUTION}
    assert (
        token_after
        == token_before
        == {
            "pk": f"ORDER#{order_id}",
            "sk": "PAYMENT_TOKEN",
            "paymentToken": "tok_flaky",
        }
    )
    with pytest.raises(SagaAlreadyStarted):
        record_order.handler(started(delivery, SECOND_EXECUTION), lambda_context)
    assert (state["orderId"], state["total"]) == (order_id, "37.50")
    assert "paymentToken" not in state
    assert state["causationId"] == placed.id


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda detail: detail["data"].pop("items"), "data.items"),
        (lambda detail: detail["data"].update(total="1.00"), "data.total"),
        (lambda detail: detail["data"].update(orderId="someone-else"), "data.orderId"),
        (lambda detail: detail.pop("correlationid"), "event.detail.correlationid"),
        (lambda detail: detail.update(subject="order\u0000bus"), "event.detail.subject"),
        (lambda detail: detail["data"].update(customerId="c\u0007"), "data.customerId"),
        (lambda detail: detail["data"]["items"][0].update(sku="sku-lower"), "data.items.0.sku"),
        (lambda detail: detail["data"].update(total="29.999"), "data.total"),
    ],
)
def test_record_order_rejects_malformed_events(orders_table, lambda_context, mutate, field):
    delivery = fresh_delivery("order-placed", "order-bus")
    mutate(delivery["detail"])
    with pytest.raises(MalformedEventError) as raised:
        record_order.handler(started(delivery), lambda_context)
    assert raised.value.field == field
    assert orders_table.items() == []


def test_record_order_rejects_other_event_types(orders_table, lambda_context):
    with pytest.raises(MalformedEventError) as raised:
        record_order.handler(started(fresh_delivery("order-confirmed", "order-x")), lambda_context)
    assert raised.value.field == "type"


def test_confirm_order_confirms_once_and_queues_order_confirmed_once(orders_table, lambda_context):
    # Given a pending order
    order_id = placed_through_api(lambda_context)
    # When ConfirmOrder runs twice (a retry)
    first = confirm_order.handler(step(order_id), lambda_context)
    second = confirm_order.handler(step(order_id), lambda_context)
    # Then the order is CONFIRMED and exactly one OrderConfirmed waits in the outbox
    assert first == second == {"orderId": order_id, "status": "CONFIRMED"}
    confirmed = [e for e in outbox_events(orders_table) if e.type == "OrderConfirmed"]
    assert len(confirmed) == 1
    assert confirmed[0].data == {"orderId": order_id, "customerId": "customer-7", "total": "37.50"}
    assert (confirmed[0].correlationid, confirmed[0].causationid) == ("corr-1", "placed-1")


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"error": {"Error": "PaymentDeclined", "Cause": "{}"}}, "PAYMENT_DECLINED"),
        ({"error": {"Error": "OutOfStock"}}, "OUT_OF_STOCK"),
        ({"error": {"Error": "States.Timeout"}}, "SHIPMENT_TIMEOUT"),
        ({"error": {"Error": "CircuitOpen"}}, "PAYMENT_UNAVAILABLE"),
        ({"error": {"Error": "ProviderUnavailable"}}, "PAYMENT_UNAVAILABLE"),
        ({"error": {"Error": "Lambda.Unknown"}}, "SAGA_FAILED"),
        ({"reason": "CUSTOMER_REQUEST", "error": {"Error": "OutOfStock"}}, "CUSTOMER_REQUEST"),
        ({}, "SAGA_FAILED"),
    ],
)
def test_cancel_order_derives_the_reason(orders_table, lambda_context, extra, reason):
    order_id = placed_through_api(lambda_context)
    output = cancel_order.handler(step(order_id, **extra), lambda_context)
    assert output == {"orderId": order_id, "status": "CANCELLED", "reason": reason}
    [cancelled] = [e for e in outbox_events(orders_table) if e.type == "OrderCancelled"]
    assert cancelled.data == {"orderId": order_id, "customerId": "customer-7", "reason": reason}


def test_cancel_order_twice_cancels_once_and_counts_once(orders_table, lambda_context, capsys):
    order_id = placed_through_api(lambda_context)
    capsys.readouterr()
    event = step(order_id, error={"Error": "OutOfStock"})
    cancel_order.handler(event, lambda_context)
    cancel_order.handler(event, lambda_context)
    assert [e.type for e in outbox_events(orders_table)].count("OrderCancelled") == 1
    # The EMF output counts one cancellation, with its reason as a dimension
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    cancelled = [m for m in metrics if "OrdersCancelled" in m]
    assert len(cancelled) == 1
    assert cancelled[0]["reason"] == "OUT_OF_STOCK"
    assert ["service", "reason"] in cancelled[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sum(1 for m in metrics if "CompensationsRun" in m) == 1


def test_terminal_orders_refuse_the_other_outcome(orders_table, lambda_context):
    confirmed = placed_through_api(lambda_context)
    cancelled = placed_through_api(lambda_context)
    confirm_order.handler(step(confirmed), lambda_context)
    cancel_order.handler(step(cancelled, reason="X"), lambda_context)
    with pytest.raises(OrderStateConflict):
        cancel_order.handler(step(confirmed, reason="X"), lambda_context)
    with pytest.raises(OrderStateConflict):
        confirm_order.handler(step(cancelled), lambda_context)
    with pytest.raises(OrderNotFound):
        confirm_order.handler(step("no-such-order"), lambda_context)
    assert len(outbox_events(orders_table)) == 4  # 2 placed, 1 confirmed, 1 cancelled


@pytest.mark.usefixtures("atomic_dynamodb_requests")
def test_concurrent_confirm_and_cancel_settle_the_order_once(orders_table, lambda_context):
    # Given a pending order, confirmed and cancelled at the same moment
    order_id = placed_through_api(lambda_context)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name, handler, event):
        start.wait()
        try:
            outcomes[name] = handler(event, lambda_context)["status"]
        except OrderStateConflict as conflict:
            outcomes[name] = conflict

    threads = [
        threading.Thread(target=run, args=("confirm", confirm_order.handler, step(order_id))),
        threading.Thread(
            target=run, args=("cancel", cancel_order.handler, step(order_id, reason="X"))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one won, the other got a conflict, and one outcome event was queued
    wins = [name for name, outcome in outcomes.items() if isinstance(outcome, str)]
    assert len(wins) == 1
    assert sum(isinstance(outcome, OrderStateConflict) for outcome in outcomes.values()) == 1
    outcome_types = {e.type for e in outbox_events(orders_table)} - {"OrderPlaced"}
    assert outcome_types == {"OrderConfirmed" if wins == ["confirm"] else "OrderCancelled"}


def emf_documents(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if '"_aws"' in line]


def test_confirming_an_order_records_its_completion_latency_once(
    orders_table, lambda_context, capsys
):
    # Given an order placed through the API
    order_id = placed_through_api(lambda_context)
    [created] = [item["createdAt"] for item in orders_table.orders()]
    capsys.readouterr()
    # When ConfirmOrder runs twice (a retry)
    confirm_order.handler(step(order_id), lambda_context)
    confirm_order.handler(step(order_id), lambda_context)
    # Then one OrderCompletionLatency (ms) spans createdAt -> the confirmation
    [confirmed] = [item["updatedAt"] for item in orders_table.orders()]
    latencies = [m for m in emf_documents(capsys.readouterr().out) if "OrderCompletionLatency" in m]
    assert len(latencies) == 1
    [directive] = latencies[0]["_aws"]["CloudWatchMetrics"]
    assert {"Name": "OrderCompletionLatency", "Unit": "Milliseconds"} in directive["Metrics"]
    expected = (datetime.fromisoformat(confirmed) - datetime.fromisoformat(created)) / timedelta(
        milliseconds=1
    )
    assert latencies[0]["OrderCompletionLatency"] == [pytest.approx(expected)]


def test_completion_latency_is_never_negative() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    order = Order.model_validate(
        {
            "orderId": "order-1",
            "customerId": "customer-1",
            "status": "CONFIRMED",
            "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "1.00"}],
            "total": "1.00",
            "correlationId": "corr-1",
            "createdAt": now + timedelta(seconds=2),  # the event's host ran ahead
            "updatedAt": now,
        }
    )

    assert completion_latency_ms(order) == 0
    assert (
        completion_latency_ms(order.model_copy(update={"created_at": now - timedelta(seconds=1.5)}))
        == 1500
    )
