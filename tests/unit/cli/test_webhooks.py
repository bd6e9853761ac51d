"""``orderflow webhooks deliveries | redeliver`` on moto: the attempt log as a table or JSON,
a message queued again with its webhook-id, clear errors for what is not there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli.main import app
from tests.unit.domain_common.fixtures import REGION, create_table
from webhooks.dal.deliveries import DeliveriesTable
from webhooks.models import Attempt, DeliveryMessage

TABLE = "webhook-deliveries-cli"
WEBHOOK = "wh_" + "c" * 24
MESSAGE = "msg_" + "d" * 32


@pytest.fixture
def deployed(mocked_aws: None, tmp_path: Path) -> dict[str, str]:
    create_table(TABLE)
    sqs = boto3.client("sqs", region_name=REGION)
    outputs = {
        "WebhookDeliveriesTableName": TABLE,
        "WebhookDeliveryQueueUrl": sqs.create_queue(QueueName="delivery")["QueueUrl"],
        "WebhookDlqUrl": sqs.create_queue(QueueName="delivery-dlq")["QueueUrl"],
    }
    (tmp_path / "outputs.json").write_text(json.dumps({"Orderflow": outputs}))
    log = DeliveriesTable(TABLE)
    message = DeliveryMessage(
        message_id=MESSAGE,
        subscription_id=WEBHOOK,
        client="key-basic",
        event={"id": "evt-1", "type": "OrderConfirmed"},
        event_type="OrderConfirmed",
        attempt=2,
        last_error="HTTP 500",
    )
    log.remember(message, "failed")
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for attempt, status in ((1, 500), (2, 503)):
        log.record(
            Attempt(
                message_id=MESSAGE,
                subscription_id=WEBHOOK,
                event_type="OrderConfirmed",
                attempt=attempt,
                outcome="failed",
                status_code=status,
                error=f"HTTP {status}",
                duration_ms=12,
                at=start + timedelta(seconds=attempt),
            )
        )
    return {**outputs, "file": str(tmp_path / "outputs.json")}


def run(deployed: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["--outputs", deployed["file"], "webhooks", *args], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def test_deliveries_lists_the_attempts_newest_first_as_json(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "deliveries", WEBHOOK, "--json")
    assert code == 0, output
    attempts = json.loads(output)
    assert [(a["attempt"], a["statusCode"], a["outcome"]) for a in attempts] == [
        (2, 503, "failed"),
        (1, 500, "failed"),
    ]


def test_deliveries_prints_a_table(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "deliveries", WEBHOOK)
    assert code == 0, output
    assert "503" in output and "HTTP 500" in output and MESSAGE[:12] in output


def test_a_webhook_without_attempts_says_so(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "deliveries", "wh_" + "e" * 24)
    assert code == 0
    assert "No delivery attempt recorded" in output


def test_a_malformed_id_is_refused(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "deliveries", "not-a-webhook")
    assert code == 2
    assert "wh_" in output


def test_redeliver_queues_the_message_as_a_first_attempt(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "redeliver", WEBHOOK, MESSAGE)

    assert code == 0, output
    sqs = boto3.client("sqs", region_name=REGION)
    [queued] = sqs.receive_message(QueueUrl=deployed["WebhookDeliveryQueueUrl"])["Messages"]
    body = json.loads(queued["Body"])
    assert (body["messageId"], body["attempt"], body.get("lastError")) == (MESSAGE, 1, None)


def test_redelivering_an_unknown_message_fails_clearly(deployed: dict[str, str]) -> None:
    code, output = run(deployed, "redeliver", WEBHOOK, "msg_" + "0" * 32)
    assert code == 2
    assert "no message" in output
