"""``orderflow dashboard --html`` against the emulator's CloudWatch (LocalStack's), with a
dashboard of its own (the stack is not needed): the metrics it answers are drawn with their
values; what it does not answer (LocalStack's open-source CloudWatch evaluates no metric math
and no percentile) is said on the page per series, never left blank; the page renders in
Chromium."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulator.clients import REGION, client, endpoint
from orderflow_cli.main import app
from tests.browser import render
from tests.integration.support import eventually
from tests.unit.cli.dashboard_page import parse, series, values, widgets

pytestmark = pytest.mark.integration

CLI_ENV = {
    "AWS_ENDPOINT_URL": endpoint(),
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "COLUMNS": "200",
}


def body(namespace: str, alarm: str) -> dict[str, Any]:
    return {
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "Orders",
                    "region": REGION,
                    "stat": "Sum",
                    "period": 60,
                    "metrics": [
                        [namespace, "OrdersPlaced", "service", "orders", {"id": "placed"}],
                        [".", "OrdersConfirmed", ".", ".", {"id": "confirmed"}],
                        [{"expression": "100 * confirmed / placed", "label": "confirmed %"}],
                    ],
                },
            },
            {
                "type": "metric",
                "x": 12,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "Latency",
                    "region": REGION,
                    "period": 60,
                    "metrics": [
                        [namespace, "Latency", "service", "orders", {"stat": "p99"}],
                        ["...", {"stat": "Average"}],
                    ],
                },
            },
            {
                "type": "alarm",
                "x": 0,
                "y": 6,
                "width": 24,
                "height": 3,
                "properties": {
                    "title": "Alarms",
                    "alarms": [f"arn:aws:cloudwatch:{REGION}:000000000000:alarm:{alarm}"],
                },
            },
        ]
    }


@pytest.fixture
def dashboard(emulator: None) -> str:
    """A dashboard, its alarm and its metrics (two minutes of each) on the emulator."""
    run = uuid.uuid4().hex[:8]
    namespace, name, alarm = f"orderflow-it-{run}", f"dashboard-it-{run}", f"alarm-it-{run}"
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace=namespace,
        MetricName="OrdersPlaced",
        Dimensions=[{"Name": "service", "Value": "orders"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=100,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body(namespace, alarm)))
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    points = {"OrdersPlaced": (4.0, 6.0), "OrdersConfirmed": (2.0, 3.0), "Latency": (100.0, 300.0)}
    for metric, (first, second) in points.items():
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "service", "Value": "orders"}],
                    "Value": value,
                    "Timestamp": minute - timedelta(minutes=ago, seconds=-10),
                }
                for ago, value in ((10, first), (5, second))
            ],
        )
    return name


def test_the_emulators_cloudwatch_drawn_and_what_it_does_not_answer_said(
    dashboard: str, tmp_path: Path
) -> None:
    written = tmp_path / "dashboard.html"

    def drawn() -> dict[str, Any] | None:
        result = CliRunner(env=CLI_ENV).invoke(
            app, ["dashboard", "--html", str(written), "--name", dashboard, "--since", "1h"]
        )
        assert result.exit_code == 0, (result.output, result.exception)
        found = widgets(written.read_text())
        orders = series(found["Orders"])
        return found if values(orders["OrdersPlaced"]) == [4.0, 6.0] else None

    found = eventually(drawn, timeout_s=20)

    orders = series(found["Orders"])
    assert values(orders["OrdersConfirmed"]) == [2.0, 3.0]
    latency = series(found["Latency"])
    assert values(latency["Latency Average"]) == [100.0, 300.0]
    # answered right, or said not to be answered: never a silent blank
    ratio, p99 = orders["confirmed %"], latency["Latency p99"]
    assert values(ratio) == [50.0, 50.0] or (
        values(ratio) == [] and "metric math not evaluated" in ratio.attrs["data-error"]
    )
    assert values(p99) == [100.0, 300.0] or (
        values(p99) == [] and "statistic p99 not answered" in p99.attrs["data-error"]
    )
    (row,) = found["Alarms"].all("tr", class_="alarm")
    assert row.attrs["data-state"] in {"OK", "ALARM", "INSUFFICIENT_DATA"}

    rendered = render(written, tmp_path / "dashboard.png")
    dom = parse(rendered.dom)
    titles = {section.attrs["data-title"] for section in dom.all("section")}
    assert titles == {"Orders", "Latency", "Alarms"}
    assert all(s.all("svg") for s in dom.all("section") if s.attrs["data-type"] == "metric")
