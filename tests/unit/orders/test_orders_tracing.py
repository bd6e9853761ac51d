"""One order, one trace, through the outbox: PlaceOrder stores the trace header of its request
with the outbox item, and the relay (invoked by the stream, in a trace of its own) publishes the
event from a span of the order's trace. And the projector, a batch consumer: one span per
record, in the record's trace. What the X-Ray SDK sends is read from a local UDP daemon."""

from typing import Any

import pytest

from orders.handlers import confirm_order, outbox_relay, place_order, projector, record_order
from shared_kernel.cloudevents import CloudEvent, from_eventbridge
from tests.sample_events import fresh_delivery
from tests.unit.domain_common.apigw import api_event
from tests.unit.domain_common.fixtures import BusSpy
from tests.unit.domain_common.sqs import sqs_record
from tests.unit.domain_common.xray import (
    FUNCTION_NAME,
    INVOCATION_ROOT,
    LocalDaemon,
    put_events_entries,
)
from tests.unit.orders.conftest import stream_record

BODY = {
    "items": [{"sku": "SKU-TEE-002", "quantity": 1}],
    "paymentToken": "tok_ok",
}
ORDER_ROOT = "1-6790a1b3-0123456789abcdef01234567"
GATEWAY = "1111111111111111"
"""The parent API Gateway hands the function: its stage's segment."""


def place(lambda_context, monkeypatch: pytest.MonkeyPatch, sampled: str) -> str:
    """POST /orders in an invocation of the request's trace; the order id."""
    with monkeypatch.context() as patch:
        patch.setenv("_X_AMZN_TRACE_ID", f"Root={ORDER_ROOT};Parent={GATEWAY};Sampled={sampled}")
        response = place_order.handler(
            api_event("POST", "/orders", body=BODY, customer="customer-42"), lambda_context
        )
    assert response["statusCode"] == 202
    [location] = response["multiValueHeaders"]["Location"]
    return str(location).removeprefix("/orders/")


def relay(orders_table, lambda_context) -> list[dict[str, Any]]:
    """The relay, invoked by the stream (in the stream's own trace, ``INVOCATION_ROOT``) with
    the INSERT of every item; the PutEvents entries it sent."""
    records = [stream_record("INSERT", item) for item in orders_table.items()]
    with put_events_entries() as entries:
        assert outbox_relay.handler({"Records": records}, lambda_context) == {
            "batchItemFailures": []
        }
    return entries


def by_id(xray: LocalDaemon) -> dict[str, dict[str, Any]]:
    return {entity["id"]: entity for entity in xray.entities()}


def test_the_relay_publishes_in_the_trace_of_the_request_that_placed_the_order(
    orders_table, bus: BusSpy, lambda_context, xray: LocalDaemon, monkeypatch
):
    # Given an order placed by a traced request
    order_id = place(lambda_context, monkeypatch, sampled="1")
    # Then its outbox item keeps the request's trace, with the subsegment that wrote it as parent
    [item] = orders_table.outbox()
    header = dict(part.split("=") for part in item["traceHeader"].split(";"))
    assert (header["Root"], header["Sampled"]) == (ORDER_ROOT, "1")
    writer = by_id(xray)[header["Parent"]]
    assert writer["trace_id"] == ORDER_ROOT
    assert writer["name"] == "## orders.handlers.place_order._place"
    assert writer["annotations"]["order_id"] == order_id

    # When the relay relays it, invoked by the stream in a trace of its own
    entries = relay(orders_table, lambda_context)

    # Then it left one span in the order's trace, under the writer, annotated with the order
    [span] = xray.segments(ORDER_ROOT)
    assert (span["name"], span["parent_id"]) == (FUNCTION_NAME, header["Parent"])
    event = CloudEvent.model_validate_json(item["event"])
    assert span["annotations"] == {"order_id": order_id, "correlation_id": event.correlationid}
    # and published the event under that span
    assert [entry["TraceHeader"] for entry in entries] == [
        f"Root={ORDER_ROOT};Parent={span['id']};Sampled=1"
    ]
    assert [from_eventbridge(delivered) for delivered in bus.delivered()] == [event]
    # while the invocation's own trace got no span of the relay's
    assert xray.segments(INVOCATION_ROOT) == []


def test_an_unsampled_request_gets_no_span_and_its_decision_travels_on(
    orders_table, bus: BusSpy, lambda_context, xray: LocalDaemon, monkeypatch
):
    # Given an order placed by a request X-Ray did not sample
    place(lambda_context, monkeypatch, sampled="0")
    [item] = orders_table.outbox()
    assert item["traceHeader"] == f"Root={ORDER_ROOT};Parent={GATEWAY};Sampled=0"
    # When the relay relays it
    entries = relay(orders_table, lambda_context)
    # Then nothing of the order's trace was sent, and the event carries the header as it was
    assert [e for e in xray.entities() if e.get("trace_id") == ORDER_ROOT] == []
    assert [entry["TraceHeader"] for entry in entries] == [item["traceHeader"]]
    assert len(bus.delivered()) == 1


def test_an_item_written_without_tracing_is_relayed_in_the_relays_own_trace(
    orders_table, bus: BusSpy, lambda_context
):
    # Given an order placed by a function with tracing off: no header on the item
    response = place_order.handler(
        api_event("POST", "/orders", body=BODY, customer="customer-42"), lambda_context
    )
    assert response["statusCode"] == 202
    [item] = orders_table.outbox()
    assert "traceHeader" not in item
    # Then the relay publishes it without a header of its own making
    entries = relay(orders_table, lambda_context)
    assert [entry.get("TraceHeader") for entry in entries] == [None]


def test_a_malformed_stored_header_is_ignored_and_the_event_still_relayed(
    orders_table, bus: BusSpy, lambda_context, xray: LocalDaemon
):
    response = place_order.handler(
        api_event("POST", "/orders", body=BODY, customer="customer-42"), lambda_context
    )
    assert response["statusCode"] == 202
    [item] = orders_table.outbox()
    record = stream_record("INSERT", {**item, "traceHeader": "Root=garbage"})
    with put_events_entries() as entries:
        assert outbox_relay.handler({"Records": [record]}, lambda_context) == {
            "batchItemFailures": []
        }
    # published in the relay's own trace (the current subsegment of its invocation)
    assert [entry["TraceHeader"].split(";")[0] for entry in entries] == [f"Root={INVOCATION_ROOT}"]
    assert len(bus.delivered()) == 1


def test_each_record_of_a_batch_is_projected_in_a_span_of_its_own_trace(
    orders_table, lambda_context, xray: LocalDaemon
):
    # Given one batch with records of three orders: two traced, one not, and one without header
    traces = {
        "order-1": ("1-6790a1b4-aaaaaaaaaaaaaaaaaaaaaaaa", "1"),
        "order-2": ("1-6790a1b5-bbbbbbbbbbbbbbbbbbbbbbbb", "1"),
        "order-3": ("1-6790a1b6-cccccccccccccccccccccccc", "0"),
    }
    records = []
    for order_id, (root, sampled) in traces.items():
        record = sqs_record(fresh_delivery("order-placed", order_id))
        header = f"Root={root};Parent=2222222222222222;Sampled={sampled}"
        record["attributes"]["AWSTraceHeader"] = header
        records.append(record)
    records.append(sqs_record(fresh_delivery("order-placed", "order-4")))
    # When the projector consumes it
    assert projector.handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
    # Then each sampled record has one span in its own trace, annotated with its order
    for order_id, (root, sampled) in traces.items():
        spans = xray.segments(root)
        if sampled == "0":
            assert spans == []
            continue
        [span] = spans
        assert span["parent_id"] == "2222222222222222"
        assert span["annotations"]["order_id"] == order_id
    # and no span was made in any other trace
    assert {segment["trace_id"] for segment in xray.segments()} == {
        traces["order-1"][0],
        traces["order-2"][0],
    }


@pytest.mark.parametrize("step", ["record", "confirm"])
def test_a_saga_steps_span_is_annotated_with_the_order(
    orders_table, bus: BusSpy, lambda_context, xray: LocalDaemon, step: str
):
    # Given an order recorded by the saga (RecordOrder's input is the OrderPlaced event)
    delivery = fresh_delivery("order-placed", "order-7")
    started = {"event": delivery, "executionId": "arn:aws:states:us-east-1:0:execution:saga:x"}
    record_order.handler(started, lambda_context)
    if step == "confirm":
        ids = {"orderId": "order-7", "correlationId": "corr-7", "causationId": "placed-1"}
        confirm_order.handler(ids, lambda_context)
    # Then the step's handler subsegment, in the invocation's trace, carries the order's ids
    handlers = [e for e in xray.entities() if e["name"] == "## handler"]
    assert {e["trace_id"] for e in handlers} == {INVOCATION_ROOT}
    expected = "corr-7" if step == "confirm" else delivery["detail"]["correlationid"]
    annotated = {
        (e["annotations"]["order_id"], e["annotations"]["correlation_id"]) for e in handlers
    }
    assert ("order-7", expected) in annotated
