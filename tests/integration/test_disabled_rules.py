"""A disabled EventBridge rule sends nothing on the emulator, as on AWS (the kit's behaviour
patch 'events.disabled-pattern-rules'; LocalStack alone matched a disabled pattern rule and
sent to its targets). The webhooks fan-out relies on it (functions/webhooks/logic/gate.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.clients import client
from tests.integration.support import eventually


@pytest.fixture
def two_rules(emulator: None) -> Iterator[dict[str, str]]:
    """A bus with two rules on the same pattern, each sending to a queue of its own: ``first``
    (created first) and ``second``. Deleted after the test."""
    events, sqs = client("events"), client("sqs")
    name = f"it-disabled-{uuid.uuid4().hex[:10]}"
    events.create_event_bus(Name=name)
    created: dict[str, str] = {"bus": name, "source": f"it.{name}"}
    for rule in ("first", "second"):
        url = sqs.create_queue(QueueName=f"{name}-{rule}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = json.dumps({"source": [created["source"]]})
        events.put_rule(Name=f"{name}-{rule}", EventBusName=name, EventPattern=pattern)
        events.put_targets(
            Rule=f"{name}-{rule}", EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}]
        )
        created[rule] = url
    try:
        yield created
    finally:
        for rule in ("first", "second"):
            events.remove_targets(Rule=f"{name}-{rule}", EventBusName=name, Ids=["queue"])
            events.delete_rule(Name=f"{name}-{rule}", EventBusName=name)
            sqs.delete_queue(QueueUrl=created[rule])
        events.delete_event_bus(Name=name)


def put(rules: dict[str, str], marker: str) -> None:
    entry = {
        "EventBusName": rules["bus"],
        "Source": rules["source"],
        "DetailType": "it",
        "Detail": json.dumps({"marker": marker}),
    }
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def markers(url: str) -> list[str]:
    messages: list[dict[str, Any]] = (
        client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    )
    return [json.loads(m["Body"])["detail"]["marker"] for m in messages]


def test_a_disabled_pattern_rule_matches_nothing_and_enabling_it_resumes(
    two_rules: dict[str, str],
) -> None:
    events = client("events")
    events.disable_rule(Name=f"{two_rules['bus']}-first", EventBusName=two_rules["bus"])

    put(two_rules, "while-disabled")
    # The rules of a bus are matched in turn, in the order they were created, for each event:
    # once the second rule's queue has the event, the first rule has been passed over.
    assert eventually(lambda: markers(two_rules["second"]), timeout_s=30) == ["while-disabled"]
    assert markers(two_rules["first"]) == []

    events.enable_rule(Name=f"{two_rules['bus']}-first", EventBusName=two_rules["bus"])
    put(two_rules, "enabled-again")
    assert eventually(lambda: markers(two_rules["first"]), timeout_s=30) == ["enabled-again"]
