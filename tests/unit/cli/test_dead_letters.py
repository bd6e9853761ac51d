"""``orderflow dlq`` and ``orderflow redrive`` on moto: a stack deployed by moto's
CloudFormation with the DLQ arrangements orderflow uses (a queue's redrive DLQ shared with its
rule target, a rule DLQ whose target is not a queue, a queue the saga sends reports to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli.main import app
from tests.unit.domain_common.fixtures import BUS_NAME, REGION

STACK = "Orderflow"
DEAD_LETTER_TAG = [{"Key": "orderflow:role", "Value": "dead-letter"}]
TEMPLATE = {
    "Resources": {
        "WorkDlq": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": DEAD_LETTER_TAG}},
        "Work": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDlq", "Arn"]},
                    "maxReceiveCount": 3,
                }
            },
        },
        "RuleDlq": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": DEAD_LETTER_TAG}},
        "MalformedEvents": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": DEAD_LETTER_TAG}},
        "Plain": {"Type": "AWS::SQS::Queue", "Properties": {}},
    },
    "Outputs": {
        "WorkQueueUrl": {"Value": {"Ref": "Work"}},
        "WorkDlqUrl": {"Value": {"Ref": "WorkDlq"}},
        "MalformedEventsQueueUrl": {"Value": {"Ref": "MalformedEvents"}},
    },
}
STATE_MACHINE = f"arn:aws:states:{REGION}:123456789012:stateMachine:saga"


@pytest.fixture
def stack(mocked_aws: None, tmp_path: Path) -> dict[str, str]:
    """The stack deployed on moto, its rules on the bus, and its outputs.json; returns the
    outputs plus ``file`` (where outputs.json is)."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    described = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    outputs["BusName"] = BUS_NAME
    sqs = boto3.client("sqs", region_name=REGION)
    arns = {
        name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for name, url in queue_urls().items()
    }
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    # a rule delivering to the work queue, dead-lettering into the queue's own DLQ
    events.put_rule(Name="project", EventBusName=BUS_NAME, EventPattern='{"source": ["x"]}')
    events.put_targets(
        Rule="project",
        EventBusName=BUS_NAME,
        Targets=[{"Id": "q", "Arn": arns["Work"], "DeadLetterConfig": {"Arn": arns["WorkDlq"]}}],
    )
    # a rule starting the saga, dead-lettering into a DLQ of its own
    events.put_rule(Name="saga", EventBusName=BUS_NAME, EventPattern='{"source": ["y"]}')
    events.put_targets(
        Rule="saga",
        EventBusName=BUS_NAME,
        Targets=[
            {
                "Id": "sm",
                "Arn": STATE_MACHINE,
                "RoleArn": "arn:aws:iam::123456789012:role/events",
                "DeadLetterConfig": {"Arn": arns["RuleDlq"]},
            }
        ],
    )
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({STACK: outputs}))
    return {**outputs, **{f"{name}Arn": arn for name, arn in arns.items()}, "file": str(file)}


def queue_urls() -> dict[str, str]:
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName=STACK
    )["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def orderflow(stack: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, ["--outputs", stack["file"], *args])
    return result


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def dlqs_by_id(stack: dict[str, str]) -> dict[str, Any]:
    listed = as_json(orderflow(stack, "dlq", "--json"))["deadLetterQueues"]
    return {queue["logicalId"]: queue for queue in listed}


def send(url: str, body: Any, attributes: dict[str, str] | None = None) -> None:
    extra: dict[str, Any] = {}
    if attributes:
        extra["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        }
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=url, MessageBody=json.dumps(body), **extra
    )


def depth(url: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_dlq_lists_every_dead_letter_queue_of_the_stack_with_its_sources(
    stack: dict[str, str],
) -> None:
    dlqs = dlqs_by_id(stack)

    # the tagged queues, whatever sends to them; not the work queue, not an untagged queue
    assert set(dlqs) == {"WorkDlq", "RuleDlq", "MalformedEvents"}
    work = dlqs["WorkDlq"]
    assert work["redriveSources"] == [stack["WorkArn"]]
    assert work["ruleTargets"] == [
        {
            "rule": f"arn:aws:events:{REGION}:123456789012:rule/{BUS_NAME}/project",
            "target": stack["WorkArn"],
        }
    ]
    assert dlqs["RuleDlq"]["redriveSources"] == []
    assert [t["target"] for t in dlqs["RuleDlq"]["ruleTargets"]] == [STATE_MACHINE]
    assert dlqs["MalformedEvents"]["redriveSources"] == []
    assert dlqs["MalformedEvents"]["ruleTargets"] == []
    assert all(queue["depth"] == 0 and queue["messages"] == [] for queue in dlqs.values())


def test_a_queue_named_in_a_redrive_policy_is_a_dlq_even_without_the_tag(
    stack: dict[str, str],
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.untag_queue(QueueUrl=stack["WorkDlqUrl"], TagKeys=["orderflow:role"])

    assert "WorkDlq" in dlqs_by_id(stack)


def test_dlq_says_why_each_message_failed_and_leaves_it_there(stack: dict[str, str]) -> None:
    rule = f"arn:aws:events:{REGION}:123456789012:rule/{BUS_NAME}/saga"
    send(
        queue_urls()["RuleDlq"],
        {"detail-type": "OrderPlaced", "detail": {"subject": "ord-1"}},
        {
            "RULE_ARN": rule,
            "TARGET_ARN": STATE_MACHINE,
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": "State machine does not exist",
        },
    )
    send(
        stack["MalformedEventsQueueUrl"],
        {
            "error": "MalformedEventError",
            "reason": "detail.data.items: Field required",
            "event": {},
        },
    )
    send(stack["WorkDlqUrl"], {"detail-type": "OrderConfirmed", "detail": {"subject": "ord-2"}})

    dlqs = dlqs_by_id(stack)

    [eventbridge] = dlqs["RuleDlq"]["messages"]
    assert eventbridge["reason"] == {
        "kind": "eventbridge",
        "summary": "SDK_CLIENT_ERROR: State machine does not exist",
        "rule": rule,
        "target": STATE_MACHINE,
        "errorCode": "SDK_CLIENT_ERROR",
        "errorMessage": "State machine does not exist",
    }
    assert eventbridge["about"] == "OrderPlaced ord-1"
    [malformed] = dlqs["MalformedEvents"]["messages"]
    assert malformed["reason"]["kind"] == "malformed-event"
    assert malformed["reason"]["reason"] == "detail.data.items: Field required"
    [redriven] = dlqs["WorkDlq"]["messages"]
    assert redriven["reason"]["kind"] == "redrive"
    assert redriven["about"] == "OrderConfirmed ord-2"
    # peeked, not consumed: every message is still there, and visible
    assert depth(stack["WorkDlqUrl"]) == 1
    assert depth(stack["MalformedEventsQueueUrl"]) == 1
    assert dlqs_by_id(stack)["WorkDlq"]["messages"][0]["messageId"] == redriven["messageId"]


def test_a_malformed_event_s_reason_is_the_error_message_of_the_step_s_cause(
    stack: dict[str, str],
) -> None:
    # what the saga's ReportMalformedEvent sends: the Catch's Cause, the Lambda error as JSON
    cause = {
        "errorMessage": "malformed event: data.items: Field required",
        "errorType": "MalformedEventError",
        "stackTrace": ["  File handler.py, line 1"],
    }
    send(
        stack["MalformedEventsQueueUrl"],
        {"error": "MalformedEventError", "reason": json.dumps(cause), "event": {}},
    )

    [message] = dlqs_by_id(stack)["MalformedEvents"]["messages"]

    assert message["reason"]["reason"] == "malformed event: data.items: Field required"
    assert "stackTrace" not in message["reason"]["summary"]


def test_dlq_shows_at_most_the_messages_asked_for(stack: dict[str, str]) -> None:
    for number in range(15):
        send(stack["WorkDlqUrl"], {"n": number})

    dlqs = as_json(orderflow(stack, "dlq", "--json", "--messages", "12"))["deadLetterQueues"]

    [work] = [queue for queue in dlqs if queue["logicalId"] == "WorkDlq"]
    assert work["depth"] == 15
    assert len({message["messageId"] for message in work["messages"]}) == 12


def test_dlq_as_tables_names_each_queue_its_depth_and_the_reason(stack: dict[str, str]) -> None:
    send(
        stack["MalformedEventsQueueUrl"],
        {"error": "MalformedEventError", "reason": "subject: bad", "event": {}},
    )

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["--outputs", stack["file"], "dlq"])

    assert result.exit_code == 0, result.output
    assert "MalformedEvents" in result.output
    assert "made visible again at once" in result.output
    assert "malformed-event: MalformedEventError: subject: bad" in result.output


def test_redrive_dry_run_says_what_would_move_and_moves_nothing(stack: dict[str, str]) -> None:
    send(stack["WorkDlqUrl"], {"n": 1})
    send(stack["WorkDlqUrl"], {"n": 2})

    planned = as_json(orderflow(stack, "redrive", "WorkDlq", "--dry-run", "--json"))

    assert planned["method"] == "dry-run"
    assert planned["destination"] == stack["WorkArn"]
    assert (planned["depthBefore"], planned["moved"]) == (2, 0)
    assert depth(stack["WorkDlqUrl"]) == 2
    assert depth(stack["WorkQueueUrl"]) == 0


def test_redrive_moves_every_message_back_to_its_source_queue(stack: dict[str, str]) -> None:
    attributes = {"ERROR_CODE": "THROTTLING", "ERROR_MESSAGE": "slow down"}
    for number in range(12):
        send(stack["WorkDlqUrl"], {"n": number}, attributes)

    # named by the output holding its URL; moto has no StartMessageMoveTask: moved by hand
    moved = as_json(orderflow(stack, "redrive", "WorkDlqUrl", "--json"))

    assert moved["method"] == "receive-send-delete"
    assert "StartMessageMoveTask" in moved["note"]
    assert (moved["depthBefore"], moved["moved"], moved["depthAfter"]) == (12, 12, 0)
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while messages := sqs.receive_message(
        QueueUrl=stack["WorkQueueUrl"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"])["n"])
            assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "THROTTLING"
            sqs.delete_message(
                QueueUrl=stack["WorkQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
            )
    assert sorted(bodies) == list(range(12))


def test_redrive_refuses_a_dlq_with_no_queue_to_go_back_to(stack: dict[str, str]) -> None:
    for name in ("RuleDlq", "MalformedEvents"):
        result = orderflow(stack, "redrive", name)

        assert result.exit_code == 2
        assert "no source queue" in result.output


def test_redrive_of_a_queue_that_is_not_a_dlq_names_the_dlqs(stack: dict[str, str]) -> None:
    result = orderflow(stack, "redrive", "WorkQueueUrl")

    assert result.exit_code == 2
    assert "is not a dead-letter queue of the stack" in result.output
    assert "WorkDlq" in result.output


def test_a_missing_outputs_file_is_a_clear_error(mocked_aws: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--outputs", str(tmp_path / "nope.json"), "dlq"])

    assert result.exit_code == 2
    assert "nope.json not found" in result.output
    assert "make deploy" in result.output


def test_an_outputs_file_without_the_stack_names_what_it_has(
    mocked_aws: None, tmp_path: Path
) -> None:
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({"OrderflowBench": {"BaselineApiId": "x"}}))

    result = CliRunner().invoke(app, ["--outputs", str(file), "dlq"])

    assert result.exit_code == 2
    assert "no stack 'Orderflow'" in result.output
    assert "OrderflowBench" in result.output


def test_the_outputs_file_can_come_from_the_environment(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERFLOW_OUTPUTS", stack["file"])

    result = CliRunner().invoke(app, ["dlq", "--json"])

    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["deadLetterQueues"]) == 3
