"""EventBridge rule targets honour their DeadLetterConfig on the emulator, as on AWS: an event
the target cannot take ends in the target's dead-letter queue with the attributes EventBridge
sets (the kit's behaviour patch 'events.target-retry-and-dlq'; LocalStack alone dropped it
without a word). Retry and backoff are unit-tested (tests/unit/emulator/test_event_delivery.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.clients import client
from tests.integration.support import eventually

ACCOUNT_REGION = "us-east-1:000000000000"


@pytest.fixture
def failing_rule(emulator: None) -> Iterator[dict[str, str]]:
    """A bus with a rule whose only target is a queue that does not exist, retried twice
    within a minute, dead-lettered to a queue of its own. Deleted after the test."""
    events, sqs = client("events"), client("sqs")
    name = f"it-dlq-{uuid.uuid4().hex[:10]}"
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    missing = f"arn:aws:sqs:{ACCOUNT_REGION}:{name}-missing"
    rule = events.put_rule(
        Name=name, EventBusName=name, EventPattern=json.dumps({"source": [f"it.{name}"]})
    )["RuleArn"]
    events.put_targets(
        Rule=name,
        EventBusName=name,
        Targets=[
            {
                "Id": "missing-queue",
                "Arn": missing,
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": dlq_arn},
            }
        ],
    )
    try:
        yield {"bus": bus, "name": name, "rule": rule, "target": missing, "dlq": dlq_url}
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=["missing-queue"])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)
        sqs.delete_queue(QueueUrl=dlq_url)


def test_an_event_its_target_cannot_take_ends_in_the_target_s_dlq_with_eventbridge_s_attributes(
    failing_rule: dict[str, str],
) -> None:
    # Given a rule whose target queue does not exist
    name = failing_rule["name"]
    detail = {"marker": uuid.uuid4().hex}

    # When an event matching it is put on the bus
    answer = client("events").put_events(
        Entries=[
            {
                "EventBusName": name,
                "Source": f"it.{name}",
                "DetailType": "Probe",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0  # PutEvents succeeds: delivery is asynchronous
    event_id = answer["Entries"][0]["EventId"]

    # Then the event reaches the dead-letter queue, not retried (no such resource: retrying
    # cannot fix it), with the attributes EventBridge sets
    sqs = client("sqs")

    def dead_lettered() -> dict[str, Any] | None:
        messages = sqs.receive_message(
            QueueUrl=failing_rule["dlq"], MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        return messages[0] if messages else None

    message = eventually(dead_lettered, timeout_s=20)
    event = json.loads(message["Body"])
    assert (event["id"], event["source"], event["detail"]) == (event_id, f"it.{name}", detail)
    attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == failing_rule["rule"]
    assert attributes["TARGET_ARN"] == failing_rule["target"]
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert (
        "NonExistentQueue" in attributes["ERROR_MESSAGE"]
        or "QueueDoesNotExist" in (attributes["ERROR_MESSAGE"])
    )
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
