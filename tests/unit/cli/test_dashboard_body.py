"""The dashboard body as the CloudWatch console writes it (``"."`` and ``"..."`` repeats,
metric math rows, ids, widgets without a position), read by ``orderflow dashboard``; its bad
input; the text widgets' markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli.dashboard import parse_since
from orderflow_cli.dashboard_body import (
    BodyError,
    alarm_series,
    metric_series,
    parse_body,
    resolve_rows,
)
from orderflow_cli.dashboard_data import format_value
from orderflow_cli.dashboard_markdown import render_markdown
from orderflow_cli.main import app
from tests.browser import render
from tests.unit.cli.dashboard_page import parse, series, values, widgets
from tests.unit.domain_common.fixtures import REGION

CANCELLED = ["orderflow", "OrdersCancelled", "service", "orders", "reason", "OutOfStock"]
CONSOLE_BODY: dict[str, Any] = {
    "start": "-PT2H",
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Cancelled",
                "view": "timeSeries",
                "stat": "Sum",
                "period": 60,
                "region": REGION,
                "metrics": [
                    [*CANCELLED, {"id": "oos"}],
                    [".", ".", ".", ".", ".", "PaymentDeclined", {"id": "declined"}],
                    ["...", "Timeout", {"label": "timed out"}],
                    [{"expression": "oos", "label": "out of stock (math)", "id": "again"}],
                    [{"expression": "SUM(METRICS())", "label": "all cancelled"}],
                    [".", "OrdersPlaced", "service", "orders", {"visible": False}],
                ],
            },
        },
        {  # no position: the first free cell, right of the first widget
            "type": "metric",
            "width": 6,
            "height": 3,
            "properties": {
                "title": "Declined",
                "view": "singleValue",
                "metrics": [[*CANCELLED[:5], "PaymentDeclined"]],
                "stat": "Sum",
                "period": 60,
            },
        },
        {"type": "log", "x": 0, "y": 6, "width": 24, "height": 3, "properties": {"query": "x"}},
    ],
}


def test_dot_repeats_the_item_above_and_ellipsis_the_row_above() -> None:
    rows = resolve_rows(CONSOLE_BODY["widgets"][0]["properties"]["metrics"], "widget 0")

    assert [items for items, _ in rows] == [
        CANCELLED,
        [*CANCELLED[:5], "PaymentDeclined"],
        [*CANCELLED[:5], "Timeout"],
        [],
        [],
        ["orderflow", "OrdersPlaced", "service", "orders"],
    ]
    assert rows[2][1] == {"label": "timed out"}


def test_each_row_becomes_its_metric_data_query() -> None:
    queries = {s.id: s.query for s in metric_series(CONSOLE_BODY["widgets"][0]["properties"], "w")}

    # ids as written, the rest generated (m1, m2... and e1... skipping the taken ones)
    assert list(queries) == ["oos", "declined", "m1", "again", "e1", "m2"]
    assert queries["m1"]["MetricStat"] == {
        "Metric": {
            "Namespace": "orderflow",
            "MetricName": "OrdersCancelled",
            "Dimensions": [
                {"Name": "service", "Value": "orders"},
                {"Name": "reason", "Value": "Timeout"},
            ],
        },
        "Period": 60,
        "Stat": "Sum",
    }
    assert queries["m1"]["Label"] == "timed out"
    # metric math passed through as written, with the widget's period
    assert queries["e1"] == {
        "Id": "e1",
        "Expression": "SUM(METRICS())",
        "Label": "all cancelled",
        "ReturnData": True,
        "Period": 60,
    }
    # an invisible row is still asked (math may use it), not returned
    assert queries["m2"]["ReturnData"] is False
    assert queries["oos"]["ReturnData"] is True


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([[".", "X"]], "row before has nothing there"),
        ([["ns", "A"], ["...", "b", "c", "d"]], "repeats more than the row before"),
        ([["ns", "A", {"id": "Bad-id"}]], "metric id 'Bad-id'"),
        ([["ns", "A", "dimension-without-value"]], "is not [namespace, name"),
        ("not rows", "metrics is not an array"),
    ],
)
def test_a_malformed_metrics_array_is_named(rows: Any, error: str) -> None:
    with pytest.raises(BodyError, match=error.replace("[", r"\[")):
        metric_series({"metrics": rows}, "widget 0")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "is not JSON"),
        ('{"widgets": {}}', "has no widgets array"),
        ('{"widgets": [{"type": "metric", "x": 20, "width": 6}]}', "overflows the 24-column"),
        ('{"widgets": [{"type": "text", "width": "wide"}]}', "width is 'wide'"),
    ],
)
def test_a_malformed_body_is_named(body: str, error: str) -> None:
    with pytest.raises(BodyError, match=error):
        parse_body("d", body)


def test_period_override_replaces_every_period() -> None:
    dashboard = parse_body("d", json.dumps(CONSOLE_BODY), period_override=300)

    periods = [
        s.query.get("Period", s.query.get("MetricStat", {}).get("Period"))
        for s in dashboard.widgets[0].series
    ]
    assert periods == [300] * 6


def test_an_alarm_annotation_draws_what_the_alarm_watches() -> None:
    depth = {
        "Namespace": "AWS/SQS",
        "MetricName": "Depth",
        "Dimensions": [{"Name": "Q", "Value": "q"}],
    }
    single = alarm_series({"AlarmName": "a", **depth, "ExtendedStatistic": "p90", "Period": 120})
    math = alarm_series(
        {
            "AlarmName": "b",
            "Metrics": [
                {
                    "Id": "m",
                    "MetricStat": {"Metric": depth, "Period": 60, "Stat": "Sum"},
                    "ReturnData": False,
                    "AccountId": "123456789012",
                },
                {"Id": "e", "Expression": "m * 2", "Label": "twice", "ReturnData": True},
            ],
        },
        period_override=300,
    )

    assert [s.query["MetricStat"] for s in single] == [
        {"Metric": depth, "Period": 120, "Stat": "p90"}
    ]
    # a metric math alarm: its queries as it holds them (the period overridden), only the
    # returned one drawn
    assert [(s.id, s.visible, s.expression) for s in math] == [
        ("m", False, None),
        ("e", True, "m * 2"),
    ]
    assert math[0].query["MetricStat"]["Period"] == 300
    assert "AccountId" not in math[0].query


def test_durations() -> None:
    assert parse_since("90m") == timedelta(minutes=90)
    assert parse_since("2d") == timedelta(days=2)
    assert parse_since("-PT6H") == timedelta(hours=6)
    assert parse_since("-P1DT30M") == timedelta(days=1, minutes=30)
    for bad in ("3 hours", "30s", "-P", ""):
        with pytest.raises(ValueError, match=r"duration|under a minute"):
            parse_since(bad)


def test_markdown_is_a_safe_subset() -> None:
    page = render_markdown(
        "## Runbook\n"
        "- **DLQ** not empty: `orderflow dlq`\n"
        "- [redrive](https://example.com/r) or [bad](javascript:alert(1))\n\n"
        "| alarm | action |\n|---|---|\n| DLQ | redrive |\n\n"
        '<img src=x onerror="alert(1)"> [button:primary:Open](#top)\n'
        "```\n<b>raw</b>\n```"
    )
    root = parse(page)

    assert root.one("h4").full_text() == "Runbook"
    first = root.one("ul").all("li")[0]
    assert (first.one("strong").full_text(), first.one("code").full_text()) == (
        "DLQ",
        "orderflow dlq",
    )
    assert [a.attrs["href"] for a in root.all("a")] == ["https://example.com/r", "#top"]
    assert root.all("a")[1].attrs["class"] == "button"
    assert "bad" in page and "javascript:" not in page  # the label stays, the address goes
    assert [td.full_text() for td in root.one("table").all("td")] == ["DLQ", "redrive"]
    assert root.all("img") == [] and root.all("b") == []
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert root.one("pre").full_text() == "<b>raw</b>"


# --- the command on moto, with the console's body ------------------------------------------------


@pytest.fixture
def console_dashboard(mocked_aws: None, tmp_path: Path) -> Path:
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_dashboard(DashboardName="console", DashboardBody=json.dumps(CONSOLE_BODY))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    data = {"OutOfStock": [(30, 2.0), (20, 3.0)], "PaymentDeclined": [(20, 1.0)]}
    for reason, points in data.items():
        client.put_metric_data(
            Namespace="orderflow",
            MetricData=[
                {
                    "MetricName": "OrdersCancelled",
                    "Dimensions": [
                        {"Name": "service", "Value": "orders"},
                        {"Name": "reason", "Value": reason},
                    ],
                    "Value": value,
                    "Timestamp": now - timedelta(minutes=ago, seconds=-5),
                }
                for ago, value in points
            ],
        )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Orderflow": {}}))  # no DashboardName: --name is used
    return outputs


def orderflow(outputs: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--outputs", str(outputs), *args], env={"COLUMNS": "160"})


def test_console_body_repeats_and_math_rows_on_the_page(
    console_dashboard: Path, tmp_path: Path
) -> None:
    written = tmp_path / "console.html"
    result = orderflow(console_dashboard, "dashboard", "--html", str(written), "--name", "console")
    assert result.exit_code == 0, (result.output, result.exception)
    found = widgets(written.read_text())

    drawn = series(found["Cancelled"])
    # the "." row is PaymentDeclined's, the "..." row Timeout's (none put: no data)
    assert values(drawn["OrdersCancelled (orders, OutOfStock)"]) == [2.0, 3.0]
    assert values(drawn["OrdersCancelled (orders, PaymentDeclined)"]) == [1.0]
    assert values(drawn["timed out"]) == []
    # a math row referring to a row's id is answered with that row's values
    assert drawn["out of stock (math)"].attrs["data-expression"] == "oos"
    assert values(drawn["out of stock (math)"]) == [2.0, 3.0]
    assert drawn["all cancelled"].attrs["data-expression"] == "SUM(METRICS())"
    # the invisible row is not drawn
    assert not any("OrdersPlaced" in label for label in drawn)
    assert values(series(found["Declined"])["OrdersCancelled"]) == [1.0]
    # the log widget says it is not run
    assert "not run by this page" in found["log"].full_text()


def test_a_widget_without_position_takes_the_first_free_cell(
    console_dashboard: Path, tmp_path: Path
) -> None:
    written = tmp_path / "console.html"
    result = orderflow(console_dashboard, "dashboard", "--html", str(written), "--name", "console")
    assert result.exit_code == 0, result.output

    rendered = render(written, tmp_path / "console.png")
    boxes = {
        section.attrs["data-title"]: [int(n) for n in section.attrs["data-box"].split(",")]
        for section in parse(rendered.dom).all("section")
    }
    cancelled, declined, log = boxes["Cancelled"], boxes["Declined"], boxes["log"]
    assert declined[1] == cancelled[1]  # same top
    assert declined[0] > cancelled[0] + cancelled[2] - 1  # right of it
    assert log[1] > cancelled[1] + cancelled[3] - 1  # the log widget (y 6) under both


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "missing"], "no dashboard 'missing'"),
        ([], "has no output DashboardName"),
        (["--name", "console", "--since", "3 hours"], "not a duration"),
        (["--name", "console", "--period", "45"], "not 1, 5, 10, 30 or a multiple of 60"),
    ],
)
def test_bad_input_is_a_clear_error(
    console_dashboard: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = orderflow(console_dashboard, "dashboard", "--html", str(tmp_path / "x.html"), *args)

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "x.html").exists()


def test_a_body_that_is_not_a_dashboard_is_a_clear_error(
    console_dashboard: Path, tmp_path: Path
) -> None:
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_dashboard(DashboardName="broken", DashboardBody='{"widgets": [{"width": 30}]}')

    result = orderflow(
        console_dashboard, "dashboard", "--html", str(tmp_path / "x.html"), "--name", "broken"
    )

    assert result.exit_code == 2
    assert "widget 0: width 30 / height 6 outside the 24-column grid" in result.output


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "no data"),
        (3.0, "3"),
        (1234567.0, "1,234,567"),
        (12345.678, "12,346"),
        (0.1234567, "0.1235"),
        (-2.5, "-2.5"),
        (float("inf"), "inf"),
    ],
)
def test_values_as_shown(value: float | None, shown: str) -> None:
    assert format_value(value) == shown
