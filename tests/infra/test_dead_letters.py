"""The stack's dead letters and replay: every DLQ findable by its tag, the bus's archive with
its retention per stage, and the replay rule the CLI replays the read model through."""

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.archive import ArchiveConfig
from tests.infra.conftest import synth
from tests.infra.helpers import arn_target, dead_letter_queue_ids, resources
from tests.infra.test_order_fulfilment import output_ref, projector_rule

DEAD_LETTER_TAG = {"Key": "orderflow:role", "Value": "dead-letter"}


def test_every_dead_letter_queue_and_only_those_carry_the_dead_letter_tag(
    template: Template,
) -> None:
    dlqs = dead_letter_queue_ids(template)
    tagged = {
        name
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if DEAD_LETTER_TAG in queue["Properties"].get("Tags", [])
    }

    # the malformed-events queue (the saga's report queue) and the outbox's stream DLQ included
    assert output_ref(template, "MalformedEventsQueueUrl") in tagged
    assert output_ref(template, "OutboxDlqUrl") in tagged
    assert tagged == dlqs


def archive(template: Template) -> dict[str, Any]:
    [resource] = resources(template, "AWS::Events::Archive").values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def test_the_bus_archives_every_orderflow_event_for_a_week_in_dev(template: Template) -> None:
    properties = archive(template)

    [bus] = resources(template, "AWS::Events::EventBus")
    assert properties["SourceArn"] == {"Fn::GetAtt": [bus, "Arn"]}
    assert properties["EventPattern"] == {"source": [{"prefix": "orderflow."}]}
    assert properties["RetentionDays"] == 7
    assert properties["ArchiveName"] == "orderflow-dev"


@pytest.mark.parametrize(
    ("context", "days"),
    [
        ({"orderflow:stage": "prod"}, 365),
        ({"orderflow:archive": '{"retention_days": 30}'}, 30),
    ],
)
def test_archive_retention_is_set_per_stage(context: dict[str, str], days: int) -> None:
    assert archive(synth(**context))["RetentionDays"] == days


def test_an_archive_kept_indefinitely_has_retention_0() -> None:
    properties = archive(synth(**{"orderflow:archive": '{"retention_days": 0}'}))

    assert properties["RetentionDays"] == 0  # EventBridge: 0 keeps events indefinitely


def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ArchiveConfig(retention_days=-1)


def test_the_replay_rule_takes_the_projector_s_events_when_replayed_only(
    template: Template,
) -> None:
    _, live = projector_rule(template)
    rule_id = output_ref(template, "ReplayRuleArn")
    replayed = resources(template, "AWS::Events::Rule")[rule_id]["Properties"]

    # the projector's pattern, plus replay-name (which only a replayed event carries)
    assert replayed["EventPattern"] == {**live["EventPattern"], "replay-name": [{"exists": True}]}
    [target] = replayed["Targets"]
    assert arn_target(target["Arn"]) == output_ref(template, "ReplayQueueUrl")
    assert arn_target(target["DeadLetterConfig"]["Arn"]) == output_ref(template, "ReplayDlqUrl")
    # the live rules do not exclude replayed events: a replay names its rules (FilterArns)
    assert "replay-name" not in live["EventPattern"]
