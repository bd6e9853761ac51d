"""Every kind of service path the app uses, on the emulator, through its real APIs:
EventBridge rule -> SQS -> Lambda, SNS -> SQS -> Lambda, and a poison message -> DLQ.
(API -> Lambda -> DynamoDB and the Step Functions saga are in test_order_fulfilment.py.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, customer_of, eventually
from tests.sample_events import fresh_entry


def items_for(table: str, pk: str) -> list[dict[str, Any]]:
    return client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )["Items"]


def test_rule_projects_the_event_and_the_topic_fans_it_out(
    outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer
) -> None:
    # Given an OrderCancelled CloudEvent for an order nobody has seen
    entry = fresh_entry("order-cancelled")
    event = json.loads(entry["Detail"])
    order_id = event["subject"]

    # When it is put on the bus
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0

    # Then the projector rule's queue fed the projector, which wrote it to the read model
    api = KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], customer_of(entry), stage_issuer
    )

    def projected() -> dict[str, Any] | None:
        status, order = api.http("GET", f"/orders/{order_id}")
        return order if status == 200 else None

    order = eventually(projected)
    assert order["status"] == "CANCELLED"
    assert [entry["id"] for entry in order["history"]] == [event["id"]]

    # And the outcome rule -> SNS -> both SQS queues -> their Lambdas recorded it
    eventually(lambda: items_for(outputs["AuditTableName"], f"ORDER#{order_id}"))
    eventually(lambda: items_for(outputs["NotificationsTableName"], f"NOTIFICATION#{event['id']}"))


def test_poison_message_ends_in_the_dlq_after_max_receives(outputs: dict[str, str]) -> None:
    sqs = client("sqs")
    poison = json.dumps({"not": "a CloudEvent", "marker": str(uuid.uuid4())})

    # When a message no consumer can parse is sent to the audit queue
    sqs.send_message(QueueUrl=outputs["AuditQueueUrl"], MessageBody=poison)

    # Then, after maxReceiveCount failed receives, it is in the DLQ, untouched
    def in_dlq() -> bool:
        messages = sqs.receive_message(
            QueueUrl=outputs["AuditDlqUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return any(message["Body"] == poison for message in messages)

    eventually(in_dlq, timeout_s=180, every_s=1)
