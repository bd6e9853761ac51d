"""The shipping worker consumes a batch of several orders' requests: each request is scheduled in
a span of its order's trace, and the ShipmentScheduled it publishes carries that trace."""

import json

import pytest

from shared_kernel.cloudevents import from_eventbridge
from shipping.handlers import schedule_shipment
from tests.unit.domain_common.fixtures import BusSpy
from tests.unit.domain_common.xray import LocalDaemon, put_events_entries

ROOTS = {
    "order-1": "1-6790a1b4-aaaaaaaaaaaaaaaaaaaaaaaa",
    "order-2": "1-6790a1b5-bbbbbbbbbbbbbbbbbbbbbbbb",
}
SAGA_TASK = "3333333333333333"
"""The parent Step Functions hands the message: its ScheduleShipment task's subsegment."""


def request(order_id: str) -> dict:
    return {
        "orderId": order_id,
        "items": [{"sku": "SKU-MUG-001", "quantity": 2, "unitPrice": "12.50"}],
        "taskToken": f"token-{order_id}",
        "correlationId": f"corr-{order_id}",
        "causationId": "placed-1",
    }


@pytest.mark.usefixtures("repository", "step_functions")
def test_each_request_is_scheduled_and_published_in_its_orders_trace(
    bus: BusSpy, make_sqs_record, lambda_context, xray: LocalDaemon
):
    # Given one batch with the shipment requests of two orders, each sent in its order's trace
    records = []
    for order_id, root in ROOTS.items():
        record = make_sqs_record(request(order_id))
        record["attributes"]["AWSTraceHeader"] = f"Root={root};Parent={SAGA_TASK};Sampled=1"
        records.append(record)
    # When the worker consumes it
    with put_events_entries() as entries:
        response = schedule_shipment.handler({"Records": records}, lambda_context)
    assert response == {"batchItemFailures": []}
    # Then each order's trace has the worker's span, under the saga's task, with the order's ids
    spans = {}
    for order_id, root in ROOTS.items():
        [span] = xray.segments(root)
        assert span["parent_id"] == SAGA_TASK
        assert span["annotations"] == {"order_id": order_id, "correlation_id": f"corr-{order_id}"}
        spans[order_id] = span["id"]
    # and each ShipmentScheduled went on the bus under its own order's span
    headers = {json.loads(entry["Detail"])["subject"]: entry["TraceHeader"] for entry in entries}
    assert headers == {
        order_id: f"Root={ROOTS[order_id]};Parent={spans[order_id]};Sampled=1" for order_id in ROOTS
    }
    assert {from_eventbridge(delivered).subject for delivered in bus.delivered()} == set(ROOTS)
