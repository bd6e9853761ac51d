"""The alarms, the alerts topic and the dashboard (infra/observability.py): every DLQ, the saga,
each function, the latency objective and the payment breaker have an alarm whose ALARM and OK
go to the alerts topic; the dashboard draws what the issue lists; settings per stage. cdk-nag
finds nothing in them (tests/infra/test_nag.py checks the whole app, dev and prod)."""

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.contracts import CANCELLATION_REASONS
from infra.observability import AlertsConfig
from tests.infra.conftest import synth
from tests.infra.helpers import dead_letter_queue_ids, render_join, resources


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    """Alarm properties by alarm name."""
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def topic_id(template: Template) -> str:
    [topic] = resources(template, "AWS::SNS::Topic", "ObservabilityAlerts")
    return topic


def dashboard(template: Template) -> dict[str, Any]:
    [board] = resources(template, "AWS::CloudWatch::Dashboard").values()
    body: dict[str, Any] = json.loads(render_join(board["Properties"]["DashboardBody"]))
    return body


def graph(body: dict[str, Any], title: str) -> list[list[Any]]:
    [widget] = [w for w in body["widgets"] if w["properties"].get("title") == title]
    metrics: list[list[Any]] = widget["properties"]["metrics"]
    return metrics


def test_every_dead_letter_queue_has_an_alarm_on_its_depth(template: Template) -> None:
    dlqs = dead_letter_queue_ids(template)
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm
        for alarm in alarms(template).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }

    assert len(dlqs) >= 11
    assert set(watched) == dlqs  # every DLQ, and nothing but DLQs
    for alarm in watched.values():
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["Dimensions"][0]["Name"] == "QueueName"
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 0)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["EvaluationPeriods"] == 1


def test_every_alarm_tells_the_alerts_topic_when_it_fires_and_when_it_clears(
    template: Template,
) -> None:
    topic = {"Ref": topic_id(template)}

    for name, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        # a plain metric: the emulator evaluates no metric-math alarm
        assert "Metrics" not in alarm, name


def test_saga_failures_and_timeouts_have_alarms(template: Template) -> None:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", "FulfilmentSaga")
    found = alarms(template)

    for name, metric in (
        ("orderflow-dev-saga-failed", "ExecutionsFailed"),
        ("orderflow-dev-saga-timed-out", "ExecutionsTimedOut"),
    ):
        alarm = found[name]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", metric)
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


def test_each_function_has_an_errors_alarm_named_after_its_service(template: Template) -> None:
    functions = {  # every service function: a handler of functions/<service>/handlers/
        name: {tag["Key"]: tag["Value"] for tag in function["Properties"]["Tags"]}
        for name, function in resources(template, "AWS::Lambda::Function", "Fulfilment").items()
        if re.fullmatch(r"\w+\.handlers\.\w+\.handler", function["Properties"]["Handler"])
    }
    errors = {
        alarm["Dimensions"][0]["Value"]["Ref"]: (name, alarm)
        for name, alarm in alarms(template).items()
        if alarm.get("MetricName") == "Errors"
    }

    assert len(functions) >= 18
    assert set(errors) == set(functions)
    for function, (name, alarm) in errors.items():
        assert name.startswith(f"orderflow-dev-errors-{functions[function]['orderflow:service']}-")
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Threshold"]) == (
            "AWS/Lambda",
            "Sum",
            AlertsConfig().lambda_errors_threshold,
        )
    assert "orderflow-dev-errors-payments-authorize" in alarms(template)


def test_order_latency_is_held_to_its_objective_and_the_breaker_watched(
    template: Template,
) -> None:
    found = alarms(template)

    latency = found["orderflow-dev-order-latency"]
    assert (latency["Namespace"], latency["MetricName"]) == ("orderflow", "OrderCompletionLatency")
    assert latency["Dimensions"] == [{"Name": "service", "Value": "orders"}]
    assert latency["ExtendedStatistic"] == "p90"
    assert latency["Threshold"] == AlertsConfig().latency_objective_seconds * 1000
    breaker = found["orderflow-dev-payment-breaker-open"]
    assert (breaker["MetricName"], breaker["Statistic"], breaker["Threshold"]) == (
        "BreakerOpen",
        "Maximum",
        1,
    )
    assert breaker["Dimensions"] == [{"Name": "dependency", "Value": "payment-provider"}]


def test_the_dashboard_draws_orders_latency_saga_dlqs_functions_and_breaker(
    template: Template,
) -> None:
    body = dashboard(template)

    orders = graph(body, "Orders placed and confirmed")
    assert [m[1] for m in orders] == ["OrdersPlaced", "OrdersConfirmed"]
    cancelled = graph(body, "Orders cancelled, by reason")
    assert [m[-1]["label"] for m in cancelled] == list(CANCELLATION_REASONS)
    latency = graph(body, "Order completion latency (ms)")
    assert [m[-1]["stat"] for m in latency] == ["p50", "p90", "p99"]
    outcomes = graph(body, "Saga outcomes")
    assert [m[1] for m in outcomes] == [
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    assert len(graph(body, "Dead-letter queue depths")) == len(dead_letter_queue_ids(template))
    assert [m[1] for m in graph(body, "Payment breaker")] == ["BreakerOpen", "BreakerRejected"]
    titles = {w["properties"].get("title") for w in body["widgets"]}
    for service in ("orders", "inventory", "payments", "shipping", "notifications"):
        assert f"{service}: Lambda errors" in titles
        assert f"{service}: Lambda duration p90 (ms)" in titles
    [status] = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(alarms(template))


def test_the_outputs_name_the_topic_the_dashboard_and_the_inbox(template: Template) -> None:
    outputs = template.to_json()["Outputs"]

    assert outputs["AlertsTopicArn"]["Value"] == {"Ref": topic_id(template)}
    assert outputs["DashboardName"]["Value"]["Ref"].startswith("ObservabilityDashboard")
    [inbox] = resources(template, "AWS::SQS::Queue", "ObservabilityInbox").keys() - {
        *resources(template, "AWS::SQS::Queue", "ObservabilityInboxDlq")
    }
    assert outputs["AlertsInboxUrl"]["Value"] == {"Ref": inbox}
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "sqs", "TopicArn": {"Ref": topic_id(template)}}
    )


def test_dev_judges_one_minute_periods_other_stages_two_of_three_five_minute_ones() -> None:
    dev, prod = DeploymentConfig(stage="dev").alerts, DeploymentConfig(stage="prod").alerts

    assert (dev.period_seconds, dev.evaluation_periods, dev.datapoints_to_alarm) == (60, 1, 1)
    assert dev.inbox
    assert (prod.period_seconds, prod.evaluation_periods, prod.datapoints_to_alarm) == (300, 3, 2)
    assert not prod.inbox
    overridden = DeploymentConfig(stage="prod", alerts='{"latency_objective_seconds": 10}').alerts
    assert overridden.latency_objective_seconds == 10
    assert overridden.period_seconds == 300  # the stage's defaults kept


def test_prod_alarms_use_its_periods_and_it_has_no_inbox() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    found = alarms(template)

    latency = found["orderflow-prod-order-latency"]
    assert (latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (
        300,
        3,
        2,
    )
    assert found["orderflow-prod-dlq-saga-malformed-events"]["EvaluationPeriods"] == 1
    assert "AlertsInboxUrl" not in template.to_json()["Outputs"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"period_seconds": 90}, "multiple of 60"),
        ({"period_seconds": 30}, "greater than or equal to 60"),
        ({"evaluation_periods": 2, "datapoints_to_alarm": 3}, "cannot exceed"),
        ({"latency_statistic": "p42.5x"}, "latency_statistic"),
        ({"lambda_errors_treshold": 3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_alert_settings_are_refused_naming_the_field(
    settings: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        DeploymentConfig(stage="dev", alerts=settings)
