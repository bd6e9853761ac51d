"""One order, one trace: an order placed through the API is followed by X-Ray from
``POST /orders`` through the outbox, the saga and its steps, the shipping worker, the projector
and the notifications, all under one trace id that ``GetTraceSummaries`` finds by the order's
``order_id`` annotation and ``BatchGetTraces`` returns (the emulator's X-Ray, as on AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product

FUNCTION_TAG = "orderflow:function"
STEP_FUNCTIONS = {
    "PlaceOrder": "place-order",
    "OutboxRelay": "outbox-relay",
    "RecordOrder": "record-order",
    "ReserveInventory": "reserve-inventory",
    "AuthorizePayment": "authorize-payment",
    "the shipping worker": "schedule-shipment",
    "ConfirmOrder": "confirm-order",
    "the projector": "projector",
}
"""What the order's trace must hold a span of, by the function's ``orderflow:function`` tag."""
SAGA_STATES = ("RecordOrder", "ReserveInventory", "AuthorizePayment", "ScheduleShipment")
"""States of the saga the trace holds (Step Functions' own subsegments); ScheduleShipment is a
queue task, whose worker is the shipping worker above."""


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-trace", stage_issuer
    )


@pytest.fixture(scope="module")
def function_names(lambda_client: Any, outputs: dict[str, str]) -> dict[str, str]:
    """The deployed function of each tag in STEP_FUNCTIONS, by its ``orderflow:function``
    tag (the names are CloudFormation's); a function of the bench stack is not one of ours."""
    wanted = set(STEP_FUNCTIONS.values())
    names: dict[str, str] = {}
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            tags = lambda_client.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
            tag = tags.get(FUNCTION_TAG)
            if tag in wanted and "Bench" not in function["FunctionName"]:
                assert tag not in names, f"two functions tagged {tag}"
                names[tag] = function["FunctionName"]
    assert set(names) == wanted
    return names


def place(api: KeyedApi, sku: str) -> str:
    body = {
        "items": [{"sku": sku, "quantity": 1}],
        "paymentToken": "tok_ok",
    }
    status, answer = api.http("POST", "/orders", body)
    assert status == 202, answer
    return str(answer["orderId"])


def confirmed(api: KeyedApi, order_id: str) -> bool:
    status, order = api.http("GET", f"/orders/{order_id}")
    assert order.get("status") != "CANCELLED", order
    return status == 200 and order["status"] == "CONFIRMED"


def trace_ids(xray: Any, order_id: str) -> set[str]:
    """The traces holding a span annotated with the order's id."""
    now = datetime.now(UTC)
    ids: set[str] = set()
    for page in xray.get_paginator("get_trace_summaries").paginate(
        StartTime=now - timedelta(minutes=15),
        EndTime=now + timedelta(minutes=1),
        FilterExpression=f'annotation.order_id = "{order_id}"',
    ):
        ids.update(summary["Id"] for summary in page["TraceSummaries"])
    return ids


class Trace:
    """A trace as BatchGetTraces returns it: each segment document, and every entity (segment
    or subsegment, nested ones included) with its parent."""

    def __init__(self, trace: dict[str, Any]) -> None:
        self.id = trace["Id"]
        self.entities: dict[str, dict[str, Any]] = {}
        self.parents: dict[str, str | None] = {}
        for segment in trace["Segments"]:
            document = json.loads(segment["Document"])
            self._add(document, document.get("parent_id"))

    def _add(self, entity: dict[str, Any], parent: str | None) -> None:
        self.entities[entity["id"]] = entity
        self.parents[entity["id"]] = parent
        for child in entity.get("subsegments", []):
            self._add(child, entity["id"])

    def named(self, name: str) -> list[dict[str, Any]]:
        return [entity for entity in self.entities.values() if entity.get("name") == name]

    def ancestors(self, entity_id: str) -> Iterator[str]:
        seen: set[str] = set()
        current: str | None = entity_id
        while current is not None and current not in seen:
            seen.add(current)
            yield current
            current = self.parents.get(current)

    def annotated(self, order_id: str) -> list[dict[str, Any]]:
        return [
            entity
            for entity in self.entities.values()
            if entity.get("annotations", {}).get("order_id") == order_id
        ]

    def app_span_under(self, function_name: str, order_id: str) -> bool:
        """Whether a span of the application's, annotated with the order, is (under) an entity
        named after the function: the function's own segment, or the span it made in the
        order's trace for one record."""
        named = {entity["id"] for entity in self.named(function_name)}
        return any(
            named.intersection(self.ancestors(entity["id"])) for entity in self.annotated(order_id)
        )


def test_one_order_is_one_trace_from_the_api_to_the_projector(
    api: KeyedApi, lambda_client: Any, outputs: dict[str, str], function_names: dict[str, str]
) -> None:
    xray = client("xray")
    sku = stocked_product(lambda_client, outputs)
    # When an order is placed through the API and confirmed by the saga
    order_id = place(api, sku)
    eventually(lambda: confirmed(api, order_id), timeout_s=90, every_s=1)

    # Then one trace (and only one) holds the order's annotated spans, with every hop in it
    def whole_trace() -> Trace | None:
        ids = trace_ids(xray, order_id)
        if len(ids) != 1:
            return None
        [trace_id] = ids
        [raw] = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        trace = Trace(raw)
        missing = [
            step
            for step, tag in STEP_FUNCTIONS.items()
            if not trace.app_span_under(function_names[tag], order_id)
        ]
        missing += [state for state in SAGA_STATES if not trace.named(state)]
        return None if missing else trace

    trace = eventually(whole_trace, timeout_s=60, every_s=1)
    assert trace.id.startswith("1-")
    # every entity in it belongs to it, and no span of another order is in it
    assert {entity.get("trace_id", trace.id) for entity in trace.entities.values()} == {trace.id}
    other_orders = {
        entity["annotations"]["order_id"]
        for entity in trace.entities.values()
        if "order_id" in entity.get("annotations", {})
    } - {order_id}
    assert other_orders == set()
    # and the trace still is the only one the order's annotation finds
    assert trace_ids(xray, order_id) == {trace.id}
