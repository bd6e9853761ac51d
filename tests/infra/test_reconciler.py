"""The reconciler's infrastructure: a schedule from config, its own lease table, the owning
services' tables, the saga and the bus granted by ``grant_*``, and settings that hold
together (the lease outlives the longest run)."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.reconciliation import ReconcilerConfig
from tests.infra.conftest import synth
from tests.infra.helpers import (
    as_list,
    function_ids_by_handler,
    function_statements,
    resources,
)

HANDLER = "reconciler.handlers.reconcile.handler"


def reconciler_function(template: Template) -> tuple[str, dict[str, Any]]:
    function_id = function_ids_by_handler(template)[HANDLER]
    return function_id, resources(template, "AWS::Lambda::Function")[function_id]["Properties"]


def schedule_rule(template: Template) -> dict[str, Any]:
    [rule] = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if "ScheduleExpression" in rule["Properties"]
    ]
    return rule


def test_a_schedule_rule_invokes_the_reconciler_once_per_tick(template: Template) -> None:
    function_id, properties = reconciler_function(template)
    rule = schedule_rule(template)
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}  # the next tick runs again
    [invoke_config] = [
        config["Properties"]
        for config in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 0
    assert properties["Timeout"] == 60


def test_the_reconciler_is_told_its_tables_saga_bus_and_numbers(template: Template) -> None:
    _, properties = reconciler_function(template)
    variables = properties["Environment"]["Variables"]
    assert {
        "LEASE_TABLE",
        "ORDERS_TABLE",
        "PRODUCTS_TABLE",
        "EVENT_BUS_NAME",
        "STATE_MACHINE_ARN",
    } <= set(variables)
    assert {name: variables[name] for name in ReconcilerConfig().environment()} == {
        "LEASE_SECONDS": "90",
        "GRACE_SECONDS": "120",
        "ORDER_SLA_SECONDS": "300",
        "MAX_SAGA_RESTARTS": "2",
        "PAGE_SIZE": "100",
        "MAX_PAGES": "10",
        "SAFETY_MARGIN_SECONDS": "10",
    }


def test_the_reconciler_may_start_and_describe_executions_and_put_events_only(
    template: Template,
) -> None:
    function_id, _ = reconciler_function(template)
    actions = {
        action
        for statement in function_statements(template, function_id)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"states:StartExecution", "states:DescribeExecution", "events:PutEvents"} <= actions
    assert not {action for action in actions if action.endswith("*") and ":" not in action}
    assert "states:StopExecution" not in actions and "dynamodb:DeleteTable" not in actions


def test_the_reconciler_reads_and_writes_the_payments_table_it_is_told(
    template: Template,
) -> None:
    """The payments job voids through payments' repository: PAYMENTS_TABLE names the payments
    service's table, and the function may read and write it (grant_read_write_data)."""
    function_id, properties = reconciler_function(template)
    output = template.find_outputs("PaymentsTableName")["PaymentsTableName"]["Value"]
    assert properties["Environment"]["Variables"]["PAYMENTS_TABLE"] == output
    payments_table = output["Ref"]
    actions = {
        action
        for statement in function_statements(template, function_id)
        if payments_table in json.dumps(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    assert {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    } <= actions


def test_per_stage_settings_come_from_context_as_json() -> None:
    template = synth(
        **{"orderflow:reconciler": '{"schedule": "rate(5 minutes)", "order_sla_seconds": 900}'}
    )
    assert schedule_rule(template)["ScheduleExpression"] == "rate(5 minutes)"
    _, properties = reconciler_function(template)
    assert properties["Environment"]["Variables"]["ORDER_SLA_SECONDS"] == "900"


@pytest.mark.parametrize(
    "settings",
    [
        {"lease_seconds": 60, "timeout_seconds": 60},  # a run could outlive its lease
        {"safety_margin_seconds": 60},
        {"schedule": "every minute"},
        {"max_saga_restarts": -1},
        {"lease_secs": 120},  # misspelt: refused, not ignored
    ],
)
def test_inconsistent_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeploymentConfig(reconciler=settings)
