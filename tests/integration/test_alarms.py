"""Metrics, alarms and alerts on the emulator: a malformed OrderPlaced lands in the
malformed-events DLQ, its alarm goes to ALARM and the alert reaches the inbox (and
``orderflow alerts``); an order's EMF metrics, its saga's AWS/States outcome and its latency
percentiles answer through CloudWatch's API; the dashboard is deployed."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulator.clients import REGION, client, endpoint
from orderflow_cli.main import app
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product
from tests.integration.test_order_fulfilment import place, settled
from tests.sample_events import fresh_entry

OUTPUTS = Path(__file__).resolve().parents[2] / "outputs.json"
CLI_ENV = {
    "AWS_ENDPOINT_URL": endpoint(),
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}
"""What an operator's shell has for the emulator (`make` exports the same)."""
MALFORMED_DLQ_ALARM = "dlq-saga-malformed-events"
PERIOD = timedelta(seconds=60)  # the dev stage's alarm period (infra/observability.py)
# the SQS depth is sampled every 10 s, a 1-minute alarm is evaluated every minute
ALARM_WITHIN_S = 150


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    from emulator.next_steps import local_api_url

    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-alarms", stage_issuer
    )


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def depth_max(queue: str, since: datetime) -> float | None:
    """The largest ``ApproximateNumberOfMessagesVisible`` sampled since ``since``."""
    points = client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue}],
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(seconds=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max((point["Maximum"] for point in points), default=None)


def purge(url: str) -> None:
    sqs = client("sqs")
    with contextlib.suppress(sqs.exceptions.PurgeQueueInProgress):  # purged < 60 s ago
        sqs.purge_queue(QueueUrl=url)


def alerts() -> dict[str, Any]:
    """``orderflow alerts --json`` on the deployed stack."""
    result = CliRunner(env=CLI_ENV).invoke(
        app, ["--outputs", str(OUTPUTS), "alerts", "--json", "--messages", "1000"]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return dict(json.loads(result.stdout))


def test_a_malformed_event_fires_the_dlq_alarm_and_the_alert_is_delivered(
    outputs: dict[str, str],
) -> None:
    cloudwatch = client("cloudwatch")
    alarm = f"{outputs['DashboardName']}-{MALFORMED_DLQ_ALARM}"
    dlq = outputs["MalformedEventsQueueUrl"]
    # Given the malformed-events DLQ is empty (earlier tests leave their messages), its depth
    # has been 0 for a whole alarm period, and the alarm is OK from now on
    purge(dlq)
    purge(outputs["AlertsInboxUrl"])
    emptied = datetime.now(UTC)
    eventually(
        lambda: (
            depth_max(queue_name(dlq), datetime.now(UTC) - PERIOD) == 0
            and datetime.now(UTC) - emptied > timedelta(seconds=15)
        ),  # a sample after the purge
        timeout_s=ALARM_WITHIN_S,
        every_s=2,
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test: DLQ empty")
    reset = datetime.now(UTC)

    # When a malformed OrderPlaced is put on the bus
    entry = fresh_entry("malformed-order-placed")
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0

    # Then the DLQ alarm goes to ALARM, from its metric (the depth since the reset)
    def firing() -> dict[str, Any] | None:
        [found] = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
        return found if found["StateValue"] == "ALARM" else None

    fired = eventually(firing, timeout_s=ALARM_WITHIN_S, every_s=2)
    assert fired["StateReason"].startswith("Threshold Crossed")
    assert json.loads(fired["StateReasonData"])["recentDatapoints"][-1] >= 1
    assert fired["StateUpdatedTimestamp"] >= reset
    assert (depth_max(queue_name(dlq), reset) or 0) >= 1

    # And the alert reached the inbox, and `orderflow alerts` shows the alarm, its state
    # change and the delivered alert
    def delivered() -> dict[str, Any] | None:
        report = alerts()
        ours = [
            a
            for a in report["delivered"]
            if a["alarm"] == alarm and a["to"] == "ALARM" and a["time"][:19] >= since_reset
        ]
        return report if ours else None

    since_reset = reset.strftime("%Y-%m-%dT%H:%M:%S")
    report = eventually(delivered, timeout_s=30, every_s=1)
    [shown] = [a for a in report["alarms"] if a["name"] == alarm]
    assert shown["state"] == "ALARM"
    assert report["alarms"][0]["state"] == "ALARM"  # firing alarms come first
    changes = [c for c in report["stateChanges"] if c["alarm"] == alarm]
    assert changes[0]["to"] == "ALARM"
    assert changes[0]["time"][:19] >= since_reset
    assert len(report["alarms"]) >= 30  # every DLQ, the saga, each function, latency, breaker


def test_an_order_is_counted_and_timed_in_cloudwatch(
    api: KeyedApi, lambda_client: Any, outputs: dict[str, str]
) -> None:
    cloudwatch = client("cloudwatch")
    sku = stocked_product(lambda_client, outputs, price="12.50", available=100)
    since = datetime.now(UTC).replace(microsecond=0)

    # When an order is placed and confirmed
    order_id = place(api, sku)
    assert settled(api, order_id)["status"] == "CONFIRMED"

    # Then its EMF metrics answer through get-metric-statistics, as on AWS
    def counted(name: str) -> float | None:
        points = cloudwatch.get_metric_statistics(
            Namespace="orderflow",
            MetricName=name,
            Dimensions=[{"Name": "service", "Value": "orders"}],
            StartTime=since,
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(point["Sum"] for point in points) or None

    assert eventually(lambda: counted("OrdersPlaced"), timeout_s=30) >= 1
    assert eventually(lambda: counted("OrdersConfirmed"), timeout_s=30) >= 1

    # and its latency (POST -> CONFIRMED) as percentiles, the saga's outcome per state machine
    def query(metric: dict[str, Any], stat: str) -> list[float] | None:
        [result] = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {"Id": "m", "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}}
            ],
            StartTime=since,
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
        )["MetricDataResults"]
        return list(result["Values"]) or None

    latency = {
        "Namespace": "orderflow",
        "MetricName": "OrderCompletionLatency",
        "Dimensions": [{"Name": "service", "Value": "orders"}],
    }
    p50 = eventually(lambda: query(latency, "p50"), timeout_s=30)
    p99 = eventually(lambda: query(latency, "p99"), timeout_s=30)
    assert 0 < max(p50) <= max(p99) < 90_000
    succeeded = {
        "Namespace": "AWS/States",
        "MetricName": "ExecutionsSucceeded",
        "Dimensions": [{"Name": "StateMachineArn", "Value": outputs["SagaStateMachineArn"]}],
    }
    assert sum(eventually(lambda: query(succeeded, "Sum"), timeout_s=30)) >= 1
    # and each invocation's duration (its REPORT line) as AWS/Lambda Duration of the function,
    # although the function logs to a log group of another name (LoggingConfig.LogGroup)
    [place_order] = [
        function
        for page in lambda_client.get_paginator("list_functions").paginate()
        for function in page["Functions"]
        if function["FunctionName"].startswith("Orderflow-FulfilmentOrdersPlaceOrd")
    ]
    assert place_order["LoggingConfig"]["LogGroup"] != f"/aws/lambda/{place_order['FunctionName']}"
    duration = {
        "Namespace": "AWS/Lambda",
        "MetricName": "Duration",
        "Dimensions": [{"Name": "FunctionName", "Value": place_order["FunctionName"]}],
    }
    assert max(eventually(lambda: query(duration, "Maximum"), timeout_s=30)) > 0

    # And the dashboard is deployed with the widgets that draw them
    body = json.loads(
        cloudwatch.get_dashboard(DashboardName=outputs["DashboardName"])["DashboardBody"]
    )
    titles = [widget["properties"].get("title") for widget in body["widgets"]]
    assert "Orders placed and confirmed" in titles
    assert "Order completion latency (ms)" in titles
