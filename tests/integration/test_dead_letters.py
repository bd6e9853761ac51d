"""Dead letters and replay on the emulator, through the ``orderflow`` CLI (typer's CliRunner,
the same code as ``.venvs/dev/bin/orderflow``): a poison message ends in a DLQ, ``orderflow
dlq`` shows it with why it failed, ``orderflow redrive`` moves it back and says how many
moved; orders placed here, replayed from the bus's archive into a new read-model table,
compare equal to the live read model."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulator.clients import REGION, client, endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.main import app
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product

pytestmark = pytest.mark.integration

OUTPUTS = Path(__file__).resolve().parents[2] / "outputs.json"
CONFIRMED_HISTORY = {
    "OrderPlaced",
    "InventoryReserved",
    "PaymentAuthorized",
    "ShipmentScheduled",
    "OrderConfirmed",
}
DECLINED_HISTORY = {
    "OrderPlaced",
    "InventoryReserved",
    "PaymentDeclined",
    "InventoryReleased",
    "OrderCancelled",
}


CLI_ENV = {
    "AWS_ENDPOINT_URL": endpoint(),
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}
"""What an operator's shell has for the emulator (`make` exports the same)."""


def orderflow(*args: str) -> Any:
    """Run the CLI on the deployed stack; returns (exit code, parsed JSON output)."""
    result = CliRunner(env=CLI_ENV).invoke(app, ["--outputs", str(OUTPUTS), *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(
            f"exit {result.exit_code}: {result.output} {result.exception!r}"
        ) from result.exception


def depth(url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def fail_like_a_consumer(url: str, marker: str, receives: int) -> None:
    """Receive the message carrying ``marker`` ``receives`` times without deleting it (what a
    consumer that fails it does), each time visible again at once."""
    sqs = client("sqs")
    seen = 0

    def received() -> bool:
        nonlocal seen
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
        ).get("Messages", [])
        seen += sum(marker in message["Body"] for message in messages)
        return seen >= receives

    eventually(received, timeout_s=30, every_s=0)


def test_a_poison_message_is_listed_with_its_reason_and_redriven_back(
    outputs: dict[str, str],
) -> None:
    # The replay queue has no consumer but `orderflow replay`: the test fails a message in it
    # as a consumer would, three times (its maxReceiveCount), so SQS moves it to its DLQ.
    queue, dlq = outputs["ReplayQueueUrl"], outputs["ReplayDlqUrl"]
    marker = f"poison-{uuid.uuid4()}"
    client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"poison": marker}))
    fail_like_a_consumer(queue, marker, receives=3)

    def in_dlq() -> dict[str, Any] | None:
        code, listed = orderflow("dlq", "--json", "--messages", "100")
        assert code == 0
        [replay_dlq] = [q for q in listed["deadLetterQueues"] if q["url"] == dlq]
        found = [m for m in replay_dlq["messages"] if marker in m["body"]]
        # receiving the queue moves the message once its receive count is spent
        client("sqs").receive_message(QueueUrl=queue, VisibilityTimeout=0, WaitTimeSeconds=0)
        return {**replay_dlq, "message": found[0]} if found else None

    listed = eventually(in_dlq, timeout_s=30, every_s=0.5)

    # orderflow dlq: the DLQ, its depth, where its messages come from, and why this one failed
    assert listed["depth"] >= 1
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert listed["redriveSources"] == [queue_arn]
    assert [t["target"] for t in listed["ruleTargets"]] == [queue_arn]
    reason = listed["message"]["reason"]
    assert reason["kind"] == "redrive"
    assert reason["sourceQueue"] == queue_arn  # SQS's DeadLetterQueueSourceArn
    assert listed["message"]["receiveCount"] >= 3
    # peeking left it there
    assert depth(dlq) == listed["depth"]

    # --dry-run moves nothing
    code, planned = orderflow("redrive", "ReplayDlqUrl", "--dry-run", "--json")
    assert code == 0
    assert planned["moved"] == 0
    assert planned["destination"] == queue_arn
    assert depth(dlq) == listed["depth"]

    # orderflow redrive: moved back to the replay queue by SQS's move task, and says how many
    before = listed["depth"]
    code, moved = orderflow("redrive", "ReplayDlqUrl", "--json")
    assert code == 0, moved
    assert moved["method"] == "StartMessageMoveTask"
    assert moved["status"] == "COMPLETED"
    assert moved["moved"] == before
    assert moved["depthAfter"] == 0
    assert depth(dlq) == 0

    def back_in_queue() -> bool:
        sqs = client("sqs")
        for message in sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            if marker in message["Body"]:
                return True
        return False

    assert eventually(back_in_queue, timeout_s=30, every_s=0)


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-replay", stage_issuer
    )


def place(api: KeyedApi, sku: str, token: str) -> str:
    body = {
        "items": [{"sku": sku, "quantity": 1}],
        "paymentToken": token,
    }
    status, answer = api.http("POST", "/orders", body)
    assert status == 202, answer
    return str(answer["orderId"])


def projected(api: KeyedApi, order_id: str, history: set[str]) -> dict[str, Any]:
    """GET /orders/{id} once the live read model holds the order's whole history."""

    def probe() -> dict[str, Any] | None:
        status, order = api.http("GET", f"/orders/{order_id}")
        if status == 200 and {event["type"] for event in order["history"]} == history:
            return order
        return None

    return eventually(probe, timeout_s=90, every_s=0.5)


def replay(start: datetime, end: datetime, *target: str) -> Any:
    """``orderflow replay --json`` of the archive between ``start`` and ``end`` into
    ``target``, with waits fit for a test."""
    window = ["--from", start.isoformat(), "--to", end.isoformat()]
    return orderflow("replay", *window, *target, "--quiet", "3", "--wait", "120", "--json")


def test_orders_replayed_from_the_archive_rebuild_the_same_read_model(
    api: KeyedApi, outputs: dict[str, str], lambda_client: Any
) -> None:
    sku = stocked_product(lambda_client, outputs)
    start = datetime.now(UTC) - timedelta(seconds=1)
    confirmed = [place(api, sku, "tok_ok") for _ in range(2)]
    declined = place(api, sku, "tok_decline")
    for order_id in confirmed:
        projected(api, order_id, CONFIRMED_HISTORY)
    projected(api, declined, DECLINED_HISTORY)
    end = datetime.now(UTC) + timedelta(seconds=1)

    code, report = replay(start, end, "--into-new-read-model", "--drop")

    assert report["differences"] == {}, report
    assert code == 0
    assert report["state"] == "COMPLETED"
    assert report["malformed"] == []
    # every order of the test was rebuilt from its events and compared
    assert report["ordersCompared"] >= 3
    assert not {*confirmed, declined} & set(report["ordersSkipped"])
    assert report["eventsReplayed"] >= 15
    # the new table was dropped (--drop)
    assert not report["kept"]
    assert report["table"] not in client("dynamodb").list_tables()["TableNames"]


def test_a_live_read_model_that_lost_an_order_gets_it_back_from_the_archive(
    api: KeyedApi, outputs: dict[str, str], lambda_client: Any
) -> None:
    """As after upgrading a stack deployed before the views table: the order's view is gone
    from the live read model, and ``--into-live-read-model`` records it again."""
    sku = stocked_product(lambda_client, outputs)
    start = datetime.now(UTC) - timedelta(seconds=1)
    order_id = place(api, sku, "tok_ok")
    before = projected(api, order_id, CONFIRMED_HISTORY)
    end = datetime.now(UTC) + timedelta(seconds=1)
    views = client("dynamodb")
    views.delete_item(
        TableName=outputs["OrderViewsTableName"],
        Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "VIEW"}},
    )
    status, lost = api.http("GET", f"/orders/{order_id}")
    assert status == 200 and lost["history"] == [], lost  # only the order item is left

    code, report = replay(start, end, "--into-live-read-model")

    assert code == 0, report
    assert report["state"] == "COMPLETED" and report["live"]
    assert report["eventsRecorded"] >= len(CONFIRMED_HISTORY)
    status, restored = api.http("GET", f"/orders/{order_id}")
    assert status == 200
    assert restored["status"] == "CONFIRMED"
    assert [(e["id"], e["type"]) for e in restored["history"]] == [
        (e["id"], e["type"]) for e in before["history"]
    ]
