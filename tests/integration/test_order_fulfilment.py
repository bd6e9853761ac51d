"""The order-fulfilment saga on the emulator, end to end through the deployed APIs and bus."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulator.clients import client, endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, customer_of, eventually, stocked_product
from tests.sample_events import fresh_entry

ROOT = Path(__file__).resolve().parents[2]
ALSO_IN_STOCK = "SKU-STK-004"
SOLD_OUT = "SKU-OOS-008"
UNTOUCHED = "SKU-BAG-005"
TERMINAL = {"CONFIRMED", "CANCELLED"}


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    """The orders API, called with the premium demo key (50 requests/s: the saga tests poll)."""
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-customer", stage_issuer
    )


@pytest.fixture
def in_stock(lambda_client: Any, outputs: dict[str, str]) -> str:
    """A SKU of the test's own with 100 in stock at 12.50: orders that complete sell stock, and
    a seeded product would run out after enough runs on one emulator."""
    return stocked_product(lambda_client, outputs, price="12.50", available=100)


def ordering_one(entry: dict[str, Any], sku: str) -> dict[str, Any]:
    """The OrderPlaced PutEvents `entry`, ordering one `sku` at 12.50 instead of its lines."""
    detail = json.loads(entry["Detail"])
    detail["data"]["items"] = [{"sku": sku, "quantity": 1, "unitPrice": "12.50"}]
    detail["data"]["total"] = "12.50"
    return {**entry, "Detail": json.dumps(detail)}


def place(api: KeyedApi, sku: str, token: str = "tok_ok", quantity: int = 1) -> str:
    body = {
        "items": [{"sku": sku, "quantity": quantity}],
        "paymentToken": token,
    }
    status, answer = api.http("POST", "/orders", body)
    assert status == 202, answer
    assert answer["status"] == "PENDING"
    return str(answer["orderId"])


OUTCOME_EVENTS = {"CONFIRMED": "OrderConfirmed", "CANCELLED": "OrderCancelled"}


def settled(api: KeyedApi, order_id: str, timeout_s: float = 90) -> dict[str, Any]:
    """Poll GET /orders/{id} until the order is terminal.

    Every answer on the way is one snapshot: its status is that of the history it comes with
    (a terminal status with its outcome event as the last status change), in sequence order.
    """

    def probe() -> dict[str, Any] | None:
        status, order = api.http("GET", f"/orders/{order_id}")
        if status != 200:
            return None
        sequences = [entry["sequence"] for entry in order["history"]]
        assert sequences == list(range(1, len(sequences) + 1)), order
        if order["status"] not in TERMINAL:
            return None
        assert OUTCOME_EVENTS[order["status"]] in history_types(order), order
        return order

    return eventually(probe, timeout_s=timeout_s, every_s=0.5)


def stock(outputs: dict[str, str], sku: str) -> dict[str, int]:
    item = client("dynamodb").get_item(
        TableName=outputs["ProductsTableName"],
        Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "PRODUCT"}},
    )["Item"]
    return {field: int(item[field]["N"]) for field in ("available", "reserved") if field in item}


def items_for(outputs: dict[str, str], table: str, pk: str) -> list[dict[str, Any]]:
    return client("dynamodb").query(
        TableName=outputs[table],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )["Items"]


def history_types(order: dict[str, Any]) -> list[str]:
    return [event["type"] for event in order["history"]]


def test_happy_path_confirms_the_order(
    api: KeyedApi, outputs: dict[str, str], in_stock: str
) -> None:
    before = stock(outputs, in_stock)

    # When an order is placed through the API with a good payment token
    order_id = place(api, in_stock, "tok_ok", 2)

    # Then the saga confirms it, and the read model tells how it got there
    order = settled(api, order_id)
    assert order["status"] == "CONFIRMED"
    assert order["items"][0]["sku"] == in_stock
    types = history_types(order)
    assert types[0] == "OrderPlaced"
    assert types[-1] == "OrderConfirmed"
    assert {"InventoryReserved", "PaymentAuthorized", "ShipmentScheduled"} <= set(types)
    # the shipment is reported before the saga is told, so before the order is confirmed
    assert types.index("ShipmentScheduled") < types.index("OrderConfirmed")
    assert stock(outputs, in_stock)["available"] == before["available"] - 2


def test_out_of_stock_cancels_and_leaves_stock_unchanged(
    api: KeyedApi, outputs: dict[str, str]
) -> None:
    # (a SKU no other test orders: their commits may still be settling its "reserved" count)
    before = {sku: stock(outputs, sku) for sku in (UNTOUCHED, SOLD_OUT)}

    # When an order asks for an in-stock item and a sold-out one
    body = {
        "items": [{"sku": UNTOUCHED, "quantity": 1}, {"sku": SOLD_OUT, "quantity": 1}],
        "paymentToken": "tok_ok",
    }
    status, answer = api.http("POST", "/orders", body)
    assert status == 202

    # Then it is cancelled for being out of stock, and no stock moved
    order = settled(api, answer["orderId"])
    assert order["status"] == "CANCELLED"
    assert "OUT_OF_STOCK" in order["reason"]
    assert {sku: stock(outputs, sku) for sku in before} == before


def test_declined_payment_cancels_and_releases_the_reservation(
    api: KeyedApi, outputs: dict[str, str]
) -> None:
    before = stock(outputs, ALSO_IN_STOCK)

    order_id = place(api, ALSO_IN_STOCK, "tok_decline", 3)

    order = settled(api, order_id)
    assert order["status"] == "CANCELLED"
    assert "PAYMENT_DECLINED" in order["reason"]
    assert "InventoryReleased" in history_types(order)
    assert stock(outputs, ALSO_IN_STOCK) == before


def test_flaky_payment_is_retried_to_confirmation(api: KeyedApi, in_stock: str) -> None:
    order_id = place(api, in_stock, "tok_flaky")

    order = settled(api, order_id, timeout_s=120)

    assert order["status"] == "CONFIRMED"


def test_duplicate_order_placed_gives_one_order_one_reservation_one_authorization(
    api: KeyedApi, outputs: dict[str, str], in_stock: str
) -> None:
    before = stock(outputs, in_stock)
    entry = ordering_one(fresh_entry("order-placed"), in_stock)
    order_id = json.loads(entry["Detail"])["subject"]

    # When the very same OrderPlaced event is delivered twice
    since = datetime.now(UTC) - timedelta(seconds=5)
    events = client("events")
    for _ in range(2):
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    # Then there is one order, one reservation and one authorization
    order = settled(api.as_customer(customer_of(entry)), order_id)
    assert order["status"] == "CONFIRMED"
    assert history_types(order).count("OrderConfirmed") == 1
    assert stock(outputs, in_stock)["available"] == before["available"] - 1
    assert len(items_for(outputs, "PaymentsTableName", f"AUTH#{order_id}")) == 1
    assert len(items_for(outputs, "ProductsTableName", f"RESERVATION#{order_id}")) == 1
    # And the second execution stopped at RecordOrder, before reserving or waiting for a
    # shipment it would never get (whose timeout would have compensated a confirmed order)
    runs = eventually(lambda: finished_executions(outputs, order_id, 2, since), timeout_s=60)
    last_states = sorted(last_state(run["executionArn"]) for run in runs)
    assert last_states == ["AlreadyStarted", "OrderFulfilled"]


def finished_executions(
    outputs: dict[str, str], order_id: str, count: int, since: datetime
) -> list[dict[str, Any]] | None:
    """The saga's executions for ``order_id`` (started after ``since``), once ``count`` of them
    ended successfully."""
    sfn = client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=outputs["SagaStateMachineArn"]
    )
    runs = []
    for execution in (run for page in pages for run in page["executions"]):
        if execution["startDate"] < since:
            continue
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"]).get("detail", {}).get("subject") == order_id:
            runs.append(described)
    done = [run for run in runs if run["status"] == "SUCCEEDED"]
    return done if len(done) == count == len(runs) else None


def last_state(execution_arn: str) -> str:
    history = client("stepfunctions").get_execution_history(
        executionArn=execution_arn, reverseOrder=True, maxResults=20
    )["events"]
    return next(
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    )


def test_malformed_event_lands_in_dlq_with_its_reason(
    api: KeyedApi, outputs: dict[str, str]
) -> None:
    entry = fresh_entry("malformed-order-placed")
    order_id = json.loads(entry["Detail"])["subject"]

    # When a malformed OrderPlaced is put on the bus
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0

    # Then it ends in the malformed-events queue with the reason
    sqs = client("sqs")

    def in_dlq() -> dict[str, Any] | None:
        messages = sqs.receive_message(
            QueueUrl=outputs["MalformedEventsQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            if order_id in message["Body"]:
                return json.loads(message["Body"])
        return None

    dead = eventually(in_dlq, timeout_s=60)
    assert "items" in json.dumps(dead["reason"])

    # And nothing else changed: no order exists
    assert api.http("GET", f"/orders/{order_id}")[0] == 404


def test_order_placed_sent_with_the_aws_cli_completes(
    api: KeyedApi, tmp_path: Path, in_stock: str
) -> None:
    # Given the ready-made event file, with fresh ids so reruns do not collide, ordering a SKU
    # of the test's own so reruns do not run the seeded stock out
    entry = ordering_one(fresh_entry("order-placed"), in_stock)
    order_id = json.loads(entry["Detail"])["subject"]
    api = api.as_customer(customer_of(entry))  # the event's customer may read the order
    entries = tmp_path / "order-placed.json"
    entries.write_text(json.dumps([entry]))

    # When it is sent exactly as the README says
    aws = ROOT / ".venvs/emulator/bin/aws"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    subprocess.run(
        [
            str(aws),
            "--endpoint-url",
            endpoint(),
            "events",
            "put-events",
            "--entries",
            f"file://{entries}",
        ],
        check=True,
        env=env,
        capture_output=True,
    )

    # Then the saga runs it to a terminal state
    assert settled(api, order_id)["status"] == "CONFIRMED"


def test_unknown_order_is_404(api: KeyedApi) -> None:
    assert api.http("GET", f"/orders/{uuid.uuid4()}")[0] == 404
