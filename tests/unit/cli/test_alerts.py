"""``orderflow alerts`` on moto: the alarms with their state, and the alerts an SNS topic
delivered to the inbox queue. moto has neither ``DescribeAlarmHistory`` nor alarms in
CloudFormation: the whole command (the stack's alarms found from its resources, their state
changes) runs on the emulator (tests/integration/test_alarms.py)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli.alerts import delivered, describe
from orderflow_cli.main import app
from orderflow_cli.stack import StackRef
from tests.unit.domain_common.fixtures import REGION

STACK = "Orderflow"


def alarm(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    }


OURS = ["orderflow-dev-dlq-saga-malformed-events", "orderflow-dev-saga-failed"]
TEMPLATE = {
    "Resources": {"Inbox": {"Type": "AWS::SQS::Queue", "Properties": {}}},
    "Outputs": {"AlertsInboxUrl": {"Value": {"Ref": "Inbox"}}},
}


@pytest.fixture
def stack(mocked_aws: None, tmp_path: Any) -> StackRef:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name in [*OURS, "someone-else"]:  # and an alarm of another stack
        cloudwatch.put_metric_alarm(**alarm(name)["Properties"])
    return StackRef(outputs_file=tmp_path / "outputs.json", name=STACK)


def test_the_alarms_with_the_firing_ones_first(stack: StackRef) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.set_alarm_state(
        AlarmName="orderflow-dev-saga-failed", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    cloudwatch.set_alarm_state(
        AlarmName="orderflow-dev-dlq-saga-malformed-events", StateValue="OK", StateReason="fine"
    )

    alarms = describe(cloudwatch, OURS)

    assert [(a["name"], a["state"], a["reason"]) for a in alarms] == [
        ("orderflow-dev-saga-failed", "ALARM", "Threshold Crossed"),
        ("orderflow-dev-dlq-saga-malformed-events", "OK", "fine"),
    ]
    assert all(a["since"].endswith("Z") for a in alarms)
    assert alarms[0]["metric"] == "AWS/SQS ApproximateNumberOfMessagesVisible"


def test_delivered_alerts_are_read_from_the_inbox_and_left_in_it(stack: StackRef) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    inbox = sqs.get_queue_url(QueueName=_queue_name(stack))["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    # what CloudWatch publishes when an alarm changes state
    change = {
        "AlarmName": "orderflow-dev-dlq-saga-malformed-events",
        "OldStateValue": "OK",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was greater than 0.0",
    }
    sns.publish(TopicArn=topic, Subject="ALARM: dlq", Message=json.dumps(change))
    sqs.send_message(QueueUrl=inbox, MessageBody="not an SNS notification")

    alerts = delivered(sqs, inbox, limit=10)

    assert [(a["alarm"], a["from"], a["to"], a["subject"]) for a in alerts] == [
        ("orderflow-dev-dlq-saga-malformed-events", "OK", "ALARM", "ALARM: dlq")
    ]
    assert alerts[0]["reason"].startswith("Threshold Crossed")
    assert _depth(sqs, inbox) == 2  # peeked, not consumed


def test_a_deployment_without_alarms_is_a_clear_error(mocked_aws: None, tmp_path: Any) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({STACK: {"BusName": "orderflow-dev"}}))

    result = CliRunner().invoke(app, ["--outputs", str(outputs), "alerts"])

    assert result.exit_code == 2
    assert "has no output AlertsTopicArn" in result.stderr


def _queue_name(stack: StackRef) -> str:
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName=stack.name
    )["StackResourceSummaries"]
    [url] = [r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "Inbox"]
    return str(url).rsplit("/", 1)[-1]


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])
