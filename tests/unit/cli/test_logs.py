"""``orderflow logs`` on moto: a stack (moto's CloudFormation) whose log groups hold Powertools
JSON lines of several orders, Lambda's own lines, EMF metrics and the saga's execution log.

moto's CloudWatch Logs, like LocalStack's, ignores JSON filter patterns and returns every line
of the window: these tests check the client-side selection that makes the answer right there
(on AWS the same pattern is applied by the service first)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli.logs import json_pattern
from orderflow_cli.main import app
from tests.unit.cli.trace_fixture import (
    CORRELATION_ID,
    ORDER_ID,
    ROLE,
    ROLE_RESOURCE,
    function_resource,
    tags_of,
)
from tests.unit.domain_common.fixtures import REGION

STACK = "Orderflow"
SAGA_ROLE = "arn:aws:iam::123456789012:role/saga"
TEMPLATE = {
    "Resources": {
        "PlaceOrderLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "RelayLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "ProjectorLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "SagaLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Saga": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "Saga",
                "DefinitionString": '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
                "RoleArn": SAGA_ROLE,
            },
        },
        # a function of the stack without a log group of its own: Lambda's default one
        ROLE: ROLE_RESOURCE,
        "Provider": function_resource("Orderflow-Provider"),
        # PlaceOrder's function, tagged as the app tags it: its lines read orders/place-order
        "PlaceOrder": function_resource("Orderflow-PlaceOrder", tags_of("orders", "place-order")),
    }
}
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Saga:7d1c"


@pytest.fixture
def groups(mocked_aws: None) -> dict[str, str]:
    """The stack on moto; the saga logging to its group. Returns logical id -> group name."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    logs = boto3.client("logs", region_name=REGION)
    saga_group = logs.describe_log_groups(logGroupNamePrefix=physical["SagaLogs"])["logGroups"][0]
    # moto's CloudFormation drops a state machine's LoggingConfiguration: set it as AWS has it
    boto3.client("stepfunctions", region_name=REGION).update_state_machine(
        stateMachineArn=physical["Saga"],
        loggingConfiguration={
            "level": "ERROR",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": saga_group["arn"]}}],
        },
    )
    logs.create_log_group(logGroupName="/aws/lambda/Orderflow-Provider")
    return {
        name: physical[name]
        for name in ("PlaceOrderLogs", "RelayLogs", "ProjectorLogs", "SagaLogs")
    } | {"Provider": "/aws/lambda/Orderflow-Provider"}


def stamp(at: float) -> str:
    """Powertools' timestamp: ``2026-12-01 07:40:00,123+0000``."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}+0000"


def line(at: float, message: str, service: str, function: str, **keys: Any) -> str:
    return json.dumps(
        {
            "level": keys.pop("level", "INFO"),
            "location": "handler:12",
            "message": message,
            "timestamp": stamp(at),
            "service": service,
            "cold_start": False,
            "function_name": function,
            "function_request_id": "req-1",
            "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            **keys,
        }
    )


def put(group: str, messages: list[str], ingested: float) -> None:
    """Lines of one invocation, all with the same event time (as LocalStack's Lambda stores
    them: the Powertools timestamp is when each was written)."""
    logs = boto3.client("logs", region_name=REGION)
    stream = f"2026/12/01/[$LATEST]{time.monotonic_ns()}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(ingested * 1000), "message": m} for m in messages],
    )


@pytest.fixture
def order_logs(groups: dict[str, str]) -> list[str]:
    """The stack's lines; returns the messages of the order's lines, in the order written."""
    t0 = round(time.time() - 60, 3)
    mine = {"correlation_id": CORRELATION_ID, "order_id": ORDER_ID}
    place = "orders", "Orderflow-PlaceOrder"
    put(
        groups["PlaceOrderLogs"],
        [
            "START RequestId: req-1 Version: $LATEST\n",
            line(t0 + 0.001, "POST /orders", *place, correlation_id=CORRELATION_ID),
            line(t0 + 0.030, "order placed", *place, **mine, total="15.00", lines=2),
            json.dumps({"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "OrdersPlaced": 1}),
            # the same correlation id on another order's line: not this order's
            line(t0 + 0.031, "order placed", *place, correlation_id=CORRELATION_ID, order_id="o2"),
            "END RequestId: req-1\n",
        ],
        ingested=t0 + 0.5,
    )
    put(
        groups["PlaceOrderLogs"],
        [line(t0 + 0.2, "order placed", *place, correlation_id="corr-9", order_id="o9")],
        ingested=t0 + 0.5,
    )
    relay = "orders", "Orderflow-OutboxRelay"
    put(
        groups["RelayLogs"],
        [
            line(t0 + 0.6, "publish failed, retrying", *relay, **mine, level="ERROR",
                 exception_name="ThrottlingException", exception="Traceback ...\nThrottled"),
            line(t0 + 0.75, "published", *relay, **mine, event_type="OrderPlaced"),
        ],
        ingested=t0 + 1.0,
    )  # fmt: skip
    # the projector's invocation ended (its event time) before the relay's: the lines are
    # still ordered by when they were written
    put(
        groups["ProjectorLogs"],
        [line(t0 + 0.9, "recorded", "orders", "Orderflow-Projector", **mine)],
        ingested=t0 + 0.95,
    )
    task_failed = {
        "id": "7",
        "type": "TaskFailed",
        "details": {
            "error": "PaymentDeclined",
            "cause": "card declined",
            "input": json.dumps({"orderId": ORDER_ID, "correlationId": CORRELATION_ID}),
        },
        "previous_event_id": "6",
        "event_timestamp": str(int((t0 + 1.3) * 1000)),
        "execution_arn": EXECUTION,
    }
    other_execution = {
        **task_failed,
        "details": {"error": "X", "input": json.dumps({"orderId": f"{ORDER_ID}-2"})},
    }
    put(groups["SagaLogs"], [json.dumps(task_failed), json.dumps(other_execution)], t0 + 1.4)
    put(groups["Provider"], ["START RequestId: r\n"], t0 + 2)
    return [
        "POST /orders",
        "order placed",
        "publish failed, retrying",
        "published",
        "recorded",
        "TaskFailed",
    ]


def orderflow(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "220"})


def test_json_prints_the_orders_raw_lines_from_every_group_in_time_order(
    order_logs: list[str],
) -> None:
    result = orderflow("logs", ORDER_ID, "--json")

    assert result.exit_code == 0, result.output
    lines = [json.loads(raw) for raw in result.stdout.splitlines()]
    assert [entry.get("message", entry.get("type")) for entry in lines] == order_logs
    # raw: each line as the function wrote it
    assert lines[1]["total"] == "15.00"
    assert lines[-1]["execution_arn"] == EXECUTION


def test_terminal_shows_time_function_level_message_and_extras(order_logs: list[str]) -> None:
    result = orderflow("logs", ORDER_ID)

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert f"order {ORDER_ID}: 6 log lines from 4 functions, 2 error(s)" in header
    assert len(rows) == len(order_logs)
    for row, message in zip(rows, order_logs, strict=True):
        assert message in row
    # a function of the stack reads as its tags say; one the stack has not (the projector's
    # name is another stack's here) as the line says, after its service
    assert "orders/place-order " in rows[0] and "Orderflow-PlaceOrder" not in result.stdout
    assert "INFO" in rows[0]
    assert "total=15.00" in rows[1] and "lines=2" in rows[1]
    assert "ERROR" in rows[2] and "exception=ThrottlingException" in rows[2]
    assert "Traceback" not in rows[2]
    assert "orders/Orderflow-Projector" in rows[4]
    assert rows[5].split()[1] == "saga" and "ERROR" in rows[5] and "PaymentDeclined" in rows[5]
    times = [row.split()[0] for row in rows]
    assert times == sorted(times)


def test_an_order_without_lines_exits_1(groups: dict[str, str]) -> None:
    result = orderflow("logs", ORDER_ID)

    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"no log line about order '{ORDER_ID}'" in message
    assert "in the 6 log groups of stack 'Orderflow'" in message


def test_a_bad_order_id_exits_2(mocked_aws: None) -> None:
    result = orderflow("logs", 'x" || $.level = "INFO')

    assert result.exit_code == 2
    assert "is not an order id" in result.stderr


def test_a_missing_stack_exits_1(mocked_aws: None) -> None:
    result = orderflow("--stack", "Nope", "logs", ORDER_ID)

    assert result.exit_code == 1
    assert "cannot list the resources of stack 'Nope'" in result.stderr


def test_filter_patterns_quote_only_safe_values() -> None:
    assert json_pattern("order_id", ["o-1"]) == '{ ($.order_id = "o-1") }'
    assert (
        json_pattern("correlation_id", ["b", "a", "a"])
        == '{ ($.correlation_id = "a") || ($.correlation_id = "b") }'
    )
    # a correlation id is any printable token: one with a quote is matched client-side only
    assert json_pattern("correlation_id", ["a", 'x"y']) is None
    assert json_pattern("order_id", []) is None
