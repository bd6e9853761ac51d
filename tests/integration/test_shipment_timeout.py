"""The saga's shipment-timeout branch end to end on the emulator, in seconds: the shipping worker
never answers ScheduleShipment, so after its timeout (60 s in the template, scaled by the
emulator kit's Step Functions time scale, ``POST /_orderflow/time-scale``) the saga voids the
payment, releases the stock and cancels the order with ``SHIPMENT_TIMEOUT``. The worker's late
answer is then refused with ``TaskTimedOut`` and dropped, not retried into its DLQ."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, scaled_time, stocked_product

FACTOR = 0.05
SHIPMENT_TIMEOUT_S = 60  # the template's (tests/infra/test_saga_timeouts.py)
WORKER = "shipping.handlers.schedule_shipment.handler"


@pytest.fixture
def fast_time(emulator: None) -> Iterator[float]:
    """Step Functions time twenty times faster for the test; real time again after it."""
    with scaled_time(FACTOR) as factor:
        yield factor


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-timeout", stage_issuer
    )


def worker_mapping(lambda_client: Any) -> dict[str, Any]:
    """The event-source mapping of the shipping worker (the shipment-requests queue)."""
    pages = lambda_client.get_paginator("list_functions").paginate()
    [name] = [f["FunctionName"] for p in pages for f in p["Functions"] if f["Handler"] == WORKER]
    [mapping] = lambda_client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    return dict(mapping)


def mapping_in(lambda_client: Any, uuid: str, state: str) -> bool:
    return bool(lambda_client.get_event_source_mapping(UUID=uuid)["State"] == state)


@pytest.fixture
def worker_paused(lambda_client: Any) -> Iterator[dict[str, Any]]:
    """The shipping worker stops reading shipment requests (its mapping disabled, as an
    operator would): the saga's request is never answered. Enabled again afterwards."""
    mapping = worker_mapping(lambda_client)
    uuid = mapping["UUID"]
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
    eventually(lambda: mapping_in(lambda_client, uuid, "Disabled") or None, timeout_s=30)
    try:
        yield mapping
    finally:
        lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)
        eventually(lambda: mapping_in(lambda_client, uuid, "Enabled") or None, timeout_s=30)


def queue_url(arn: str) -> str:
    return str(client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])


def depth(url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)
    return sum(int(attributes["Attributes"][name]) for name in names)


def stock(outputs: dict[str, str], sku: str) -> dict[str, int]:
    item = client("dynamodb").get_item(
        TableName=outputs["ProductsTableName"],
        Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "PRODUCT"}},
        ConsistentRead=True,
    )["Item"]
    return {field: int(item[field]["N"]) for field in ("available", "reserved") if field in item}


def settled(api: KeyedApi, order_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status, order = api.http("GET", f"/orders/{order_id}")
        return order if status == 200 and order["status"] in {"CONFIRMED", "CANCELLED"} else None

    return eventually(probe, timeout_s=45, every_s=0.25)


def execution_of(outputs: dict[str, str], order_id: str) -> dict[str, Any]:
    sfn = client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=outputs["SagaStateMachineArn"]
    )
    for run in (run for page in pages for run in page["executions"]):
        described = sfn.describe_execution(executionArn=run["executionArn"])
        if json.loads(described["input"]).get("detail", {}).get("subject") == order_id:
            return dict(described)
    raise AssertionError(f"no execution for {order_id}")


def history(execution_arn: str) -> list[dict[str, Any]]:
    pages = (
        client("stepfunctions")
        .get_paginator("get_execution_history")
        .paginate(executionArn=execution_arn)
    )
    return [event for page in pages for event in page["events"]]


def test_an_unanswered_shipment_times_out_and_compensates_in_seconds(
    fast_time: float,
    worker_paused: dict[str, Any],
    api: KeyedApi,
    outputs: dict[str, str],
    lambda_client: Any,
) -> None:
    # Given a product in stock, Step Functions time 20x faster, and a worker that does not
    # answer shipment requests
    sku = stocked_product(lambda_client, outputs, price="12.50", available=10)
    before = stock(outputs, sku)
    requests = queue_url(worker_paused["EventSourceArn"])
    shipment_dlq = outputs["ShipmentDlqUrl"]
    dead_before = depth(shipment_dlq)

    # When an order is placed
    started = time.monotonic()
    status, answer = api.http(
        "POST",
        "/orders",
        {
            "items": [{"sku": sku, "quantity": 2}],
            "paymentToken": "tok_ok",
        },
    )
    assert status == 202, answer
    order = settled(api, answer["orderId"])
    took = time.monotonic() - started

    # Then it is cancelled for the shipment timeout, its payment voided and its stock released,
    # well within the unscaled 60 s the saga waits on AWS
    print(
        f"\nshipment-timeout branch: order placed -> CANCELLED in {took:.1f} s "
        f"(time scale {fast_time}; unscaled wait alone: {SHIPMENT_TIMEOUT_S} s)"
    )
    assert order["status"] == "CANCELLED", order
    assert "SHIPMENT_TIMEOUT" in order["reason"]
    types = [event["type"] for event in order["history"]]
    assert {"InventoryReserved", "PaymentAuthorized", "InventoryReleased"} <= set(types), types
    assert "ShipmentScheduled" not in types
    # (measured: 9-22 s, the high end with every step's Lambda environment cold)
    assert took < SHIPMENT_TIMEOUT_S * 2 / 3
    assert stock(outputs, sku) == before

    # and the execution went ScheduleShipment -(States.Timeout)-> VoidPayment ->
    # ReleaseInventory -> CancelOrder -> OrderCancelled, the definition's 60 s unchanged
    execution = execution_of(outputs, answer["orderId"])
    assert execution["status"] == "SUCCEEDED"
    events = history(execution["executionArn"])
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert entered[entered.index("ScheduleShipment") :] == [
        "ScheduleShipment",
        "VoidPayment",
        "ReleaseInventory",
        "CancelOrder",
        "OrderCancelled",
    ]
    [timed_out] = [e for e in events if e["type"] == "TaskTimedOut"]
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    [waited_from] = [
        e["timestamp"]
        for e in events
        if e.get("stateEnteredEventDetails", {}).get("name") == "ScheduleShipment"
    ]
    waited = (timed_out["timestamp"] - waited_from).total_seconds()
    print(f"ScheduleShipment waited {waited:.2f} s (unscaled: {SHIPMENT_TIMEOUT_S} s)")
    assert SHIPMENT_TIMEOUT_S * fast_time <= waited < SHIPMENT_TIMEOUT_S * fast_time + 5
    [scheduled] = [
        e["taskScheduledEventDetails"]
        for e in events
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "sqs"
    ]
    assert scheduled["timeoutInSeconds"] == SHIPMENT_TIMEOUT_S
    assert json.loads(execution["output"])["outcome"]["status"] == "CANCELLED"

    # and Step Functions refuses an answer with the request's token now: the task is closed
    sqs, sfn = client("sqs"), client("stepfunctions")
    [late] = [
        json.loads(message["Body"])
        for message in sqs.receive_message(
            QueueUrl=requests, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        if json.loads(message["Body"])["orderId"] == answer["orderId"]
    ]
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=late["taskToken"], output="{}")

    # When the worker reads shipment requests again, it finds the saga's late request
    lambda_client.update_event_source_mapping(UUID=worker_paused["UUID"], Enabled=True)

    # Then Step Functions refuses its answer (TaskTimedOut) and it drops the request: consumed,
    # not retried into the shipment DLQ
    eventually(lambda: depth(requests) == 0 or None, timeout_s=30)
    assert depth(shipment_dlq) == dead_before
