"""Every service path of the deployed skeleton, on the emulator, through its real APIs."""

from __future__ import annotations

import json
import uuid
from typing import Any

from emulator.clients import client
from emulator.next_steps import local_api_url
from tests.integration.support import eventually, http


def table_item(outputs: dict[str, str], pk: str) -> dict[str, Any] | None:
    item = client("dynamodb").get_item(TableName=outputs["TableName"], Key={"pk": {"S": pk}})
    return item.get("Item")


def test_api_lambda_dynamodb(outputs: dict[str, str]) -> None:
    api = local_api_url(outputs["ApiId"])

    # When an item is created through the API
    status, created = http("POST", f"{api}/items", {"name": "widget"})

    # Then it was written to DynamoDB and reads back through the API
    assert status == 201
    assert created["name"] == "widget"
    status, fetched = http("GET", f"{api}/items/{created['id']}")
    assert (status, fetched["name"]) == (200, "widget")


def test_api_rejects_bad_input_with_the_field_at_fault(outputs: dict[str, str]) -> None:
    api = local_api_url(outputs["ApiId"])

    status, body = http("POST", f"{api}/items", {"nom": "typo"})

    assert status == 400
    assert "name" in json.dumps(body)
    assert http("GET", f"{api}/items/{uuid.uuid4()}")[0] == 404


def test_eventbridge_rule_invokes_lambda(outputs: dict[str, str]) -> None:
    # When a PingSent event is put on the custom bus
    result = client("events").put_events(
        Entries=[
            {
                "EventBusName": outputs["BusName"],
                "Source": "orderflow.skeleton",
                "DetailType": "PingSent",
                "Detail": json.dumps({"message": "integration"}),
            }
        ]
    )
    assert result["FailedEntryCount"] == 0
    event_id = result["Entries"][0]["EventId"]

    # Then the rule's Lambda recorded it
    eventually(lambda: table_item(outputs, f"event#{event_id}"))


def test_sqs_lambda_and_failing_message_to_dlq(outputs: dict[str, str]) -> None:
    sqs = client("sqs")
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())

    # When one good and one failing message are sent to the work queue
    for job_id, fail in ((good, False), (bad, True)):
        sqs.send_message(
            QueueUrl=outputs["WorkQueueUrl"], MessageBody=json.dumps({"id": job_id, "fail": fail})
        )

    # Then the good one is processed
    eventually(lambda: table_item(outputs, f"job#{good}"))

    # And the failing one ends in the DLQ after maxReceiveCount receives, never processed
    def bad_in_dlq() -> bool:
        messages = sqs.receive_message(
            QueueUrl=outputs["WorkDlqUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return any(json.loads(m["Body"])["id"] == bad for m in messages)

    eventually(bad_in_dlq, timeout_s=180, every_s=1)
    assert table_item(outputs, f"job#{bad}") is None


def test_sns_fans_out_to_sqs(outputs: dict[str, str]) -> None:
    marker = str(uuid.uuid4())
    client("sns").publish(TopicArn=outputs["TopicArn"], Message=json.dumps({"marker": marker}))

    def delivered() -> bool:
        messages = (
            client("sqs")
            .receive_message(
                QueueUrl=outputs["FanoutQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            .get("Messages", [])
        )
        return any(marker in m["Body"] for m in messages)

    eventually(delivered)


def test_state_machine_runs_lambda_task_to_success(outputs: dict[str, str]) -> None:
    sfn = client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=outputs["StateMachineArn"], input=json.dumps({"name": "saga"})
    )

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        return described if described["status"] != "RUNNING" else None

    described = eventually(finished)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "hello saga"}
