"""``orderflow dashboard --html`` on moto, with the dashboard body CDK writes: a small
``aws_cloudwatch.Dashboard`` (TextWidget, GraphWidget with metric math on the right axis,
SingleValueWidget, AlarmWidget, a bar GraphWidget, AlarmStatusWidget) synthesised here, its
``Fn::Join`` resolved as CloudFormation does, put with ``PutDashboard``; metrics put with known
values; the page's charts must carry exactly those values, and render in Chromium."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template
from typer.testing import CliRunner

from orderflow_cli.main import app
from tests.browser import render
from tests.unit.cli.dashboard_page import parse, series, timestamps, values, widgets
from tests.unit.domain_common.fixtures import REGION

DASHBOARD = "orderflow-test"
ALARM = "orderflow-test-dlq-depth"
DLQ = "orderflow-test-dlq"
MARKDOWN = (
    "# Orders\nPlaced, **confirmed** and `cancelled` orders. "
    "[runbook](https://example.com/runbook)\n<script>alert(1)</script>"
)


def orders_metric(name: str, label: str | None = None, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="orderflow",
        metric_name=name,
        dimensions_map={"service": "orders", **dimensions},
        statistic="Sum",
        period=cdk.Duration.minutes(1),
        label=label,
    )


def synthesise() -> dict[str, Any]:
    """The template CDK writes for a small dashboard like the stack's."""
    stack = cdk.Stack(cdk.App(), "Dash", env=cdk.Environment(region=REGION))
    placed = orders_metric("OrdersPlaced", "placed")
    confirmed = orders_metric("OrdersConfirmed")
    out_of_stock = orders_metric("OrdersCancelled", "OutOfStock", reason="OutOfStock")
    declined = orders_metric("OrdersCancelled", "PaymentDeclined", reason="PaymentDeclined")
    depth = cloudwatch.Metric(
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions_map={"QueueName": DLQ},
        statistic="Maximum",
        period=cdk.Duration.minutes(1),
    )
    alarm = cloudwatch.Alarm(
        stack,
        "DlqDepth",
        alarm_name=ALARM,
        metric=depth,
        threshold=0,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    )
    dashboard = cloudwatch.Dashboard(stack, "Dashboard", dashboard_name=DASHBOARD)
    dashboard.add_widgets(cloudwatch.TextWidget(markdown=MARKDOWN, width=24, height=2))
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Orders",
            left=[placed, confirmed, out_of_stock, declined],
            right=[
                cloudwatch.MathExpression(
                    expression="100 * confirmed / placed",
                    using_metrics={"confirmed": confirmed, "placed": placed},
                    label="confirmed %",
                    period=cdk.Duration.minutes(1),
                )
            ],
            left_annotations=[cloudwatch.HorizontalAnnotation(value=10, label="target")],
            width=12,
        ),
        cloudwatch.SingleValueWidget(
            title="Placed", metrics=[placed], set_period_to_time_range=True, width=6
        ),
        cloudwatch.AlarmWidget(title="DLQ depth", alarm=alarm, width=6),
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Cancelled by reason",
            left=[out_of_stock, declined],
            view=cloudwatch.GraphWidgetView.BAR,
            set_period_to_time_range=True,
            width=12,
        ),
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=[alarm], width=12),
    )
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesise()


def resource(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [r for r in template["Resources"].values() if r["Type"] == kind]
    return dict(found["Properties"])


def resolve(value: Any, attributes: dict[str, str]) -> Any:
    """CloudFormation's Fn::Join, Ref and Fn::GetAtt over the template's values."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, attributes)) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return REGION if value["Ref"] == "AWS::Region" else attributes[value["Ref"]]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return attributes[".".join(value["Fn::GetAtt"])]
    return value


MINUTE = timedelta(minutes=1)


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
"""The minute the data is put relative to (fixed once: a test that crosses a minute boundary
still expects the timestamps it put)."""


def minutes_ago(count: int) -> datetime:
    """The start of the minute ``count`` minutes before ``NOW`` (a datapoint 10 s into it)."""
    return NOW - count * MINUTE


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


PUT = {
    # metric, dimensions, [(minutes ago, value)]
    "placed": ("OrdersPlaced", {"service": "orders"}, [(50, 3.0), (40, 5.0), (30, 2.0)]),
    "confirmed": ("OrdersConfirmed", {"service": "orders"}, [(40, 2.0), (30, 4.0)]),
    "out_of_stock": (
        "OrdersCancelled",
        {"service": "orders", "reason": "OutOfStock"},
        [(30, 1.0)],
    ),
}


@pytest.fixture
def deployed(mocked_aws: None, template: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The alarm and dashboard of the template in moto's CloudWatch (moto's CloudFormation
    has no AWS::CloudWatch::Alarm: put as CloudFormation would), the metrics, and an
    outputs.json naming the dashboard."""
    client = boto3.client("cloudwatch", region_name=REGION)
    alarm = resource(template, "AWS::CloudWatch::Alarm")
    client.put_metric_alarm(**alarm)
    alarm_arn = client.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["AlarmArn"]
    logical_alarm = next(
        name for name, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    properties = resource(template, "AWS::CloudWatch::Dashboard")
    body = resolve(properties["DashboardBody"], {f"{logical_alarm}.Arn": alarm_arn})
    client.put_dashboard(DashboardName=properties["DashboardName"], DashboardBody=body)
    for name, dimensions, points in PUT.values():
        client.put_metric_data(
            Namespace="orderflow",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    "Value": value,
                    "Timestamp": minutes_ago(ago) + timedelta(seconds=10),
                }
                for ago, value in points
            ],
        )
    depth = [(20, 0.0), (10, 1.0)]
    client.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": DLQ}],
                "Value": value,
                "Timestamp": minutes_ago(ago) + timedelta(seconds=10),
            }
            for ago, value in depth
        ],
    )
    client.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="1 message in DLQ")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Orderflow": {"DashboardName": DASHBOARD}}))
    return {"outputs": outputs, "body": json.loads(body), "alarm_arn": alarm_arn}


def orderflow(outputs: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--outputs", str(outputs), *args], env={"COLUMNS": "160"})


@pytest.fixture
def page(deployed: dict[str, Any], tmp_path: Path) -> tuple[Path, Any]:
    written = tmp_path / "dashboard.html"
    result = orderflow(deployed["outputs"], "dashboard", "--html", str(written), "--since", "3h")
    assert result.exit_code == 0, (result.output, result.exception)
    return written, result


def test_the_page_holds_every_widget_of_the_cdk_dashboard_on_its_grid(
    deployed: dict[str, Any], page: tuple[Path, Any]
) -> None:
    found = widgets(page[0].read_text())
    body = deployed["body"]["widgets"]

    # one section per widget of the body, at the body's x, y, width and height
    assert len(found) == len(body)
    sections = parse(page[0].read_text()).all("section")
    for section, widget in zip(sections, body, strict=True):
        assert section.attrs["data-type"] == widget["type"]
        place = {k: int(section.attrs[f"data-{k}"]) for k in ("x", "y", "width", "height")}
        assert place == {k: widget[k] for k in ("x", "y", "width", "height")}
        assert (
            f"grid-column:{widget['x'] + 1} / span {widget['width']};"
            f"grid-row:{widget['y'] + 1} / span {widget['height']}"
        ) == section.attrs["style"]
    assert set(found) == {
        "",
        "Orders",
        "Placed",
        "DLQ depth",
        "Cancelled by reason",
        "Alarms",
    }


def test_the_time_series_chart_draws_the_values_put_per_minute(page: tuple[Path, Any]) -> None:
    orders = widgets(page[0].read_text())["Orders"]
    drawn = series(orders)

    placed = drawn["placed"]
    assert values(placed) == [3.0, 5.0, 2.0]
    assert timestamps(placed) == [iso(minutes_ago(ago)) for ago in (50, 40, 30)]
    assert values(drawn["OrdersConfirmed"]) == [2.0, 4.0]
    assert values(drawn["OutOfStock"]) == [1.0]
    assert values(drawn["PaymentDeclined"]) == []
    # one point per datapoint, the highest value drawn highest
    circles = placed.all("circle")
    assert len(circles) == 3
    heights = [float(circle.attrs["cy"]) for circle in circles]
    assert heights[1] < heights[0] < heights[2]
    # the metric math row went to CloudWatch as written, on the right axis
    ratio = drawn["confirmed %"]
    assert ratio.attrs["data-expression"] == "100 * confirmed / placed"
    assert ratio.attrs["data-axis"] == "right"
    # the annotation, and the legend: latest values, "no data" where there is none
    assert orders.one("g", class_="annotation").attrs["data-value"] == "10"
    legend = {li.attrs["data-series-id"]: li.full_text() for li in orders.all("li")}
    assert legend[placed.attrs["data-series-id"]].endswith("2")
    assert legend[drawn["PaymentDeclined"].attrs["data-series-id"]].endswith("no data")


def test_single_value_over_the_time_range_and_bars(page: tuple[Path, Any]) -> None:
    found = widgets(page[0].read_text())

    # setPeriodToTimeRange: one value for the whole range, the sum of what was put
    single = series(found["Placed"])["placed"]
    assert values(single) == [10.0]
    assert single.one("div", class_="big").full_text() == "10"
    bars = series(found["Cancelled by reason"])
    assert bars["OutOfStock"].one("rect").attrs["data-value"] == "1"
    assert values(bars["PaymentDeclined"]) == []
    assert "no data" in bars["PaymentDeclined"].full_text()


def test_alarm_widgets_show_the_alarm_state_and_its_metric(
    deployed: dict[str, Any], page: tuple[Path, Any]
) -> None:
    found = widgets(page[0].read_text())

    # CDK's AlarmWidget: a metric widget annotated with the alarm; its metric is drawn
    annotated = found["DLQ depth"]
    assert annotated.one("span", class_="state").full_text() == "ALARM"
    (depth,) = series(annotated).values()
    assert values(depth) == [0.0, 1.0]
    assert annotated.one("g", class_="annotation").attrs["data-value"] == "0"
    # the alarm status widget: each alarm with its state and reason
    row = found["Alarms"].one("tr", class_="alarm")
    assert (row.attrs["data-alarm"], row.attrs["data-state"]) == (ALARM, "ALARM")
    assert "1 message in DLQ" in row.full_text()


def test_text_widgets_markdown_is_rendered_and_escaped(page: tuple[Path, Any]) -> None:
    text = widgets(page[0].read_text())[""]
    markdown = text.one("div", class_="markdown")

    assert markdown.one("h3").full_text() == "Orders"
    assert markdown.one("strong").full_text() == "confirmed"
    assert markdown.one("code").full_text() == "cancelled"
    assert markdown.one("a").attrs["href"] == "https://example.com/runbook"
    assert markdown.all("script") == []
    assert "<script>alert(1)</script>" in markdown.full_text()  # shown, as text


def test_the_page_is_self_contained(page: tuple[Path, Any]) -> None:
    html = page[0].read_text()

    # nothing loaded from anywhere: the only address is the text widget's link
    assert re.findall(r'\b(?:src|href)="([^"]*)"', html) == ["https://example.com/runbook"]
    assert "<link" not in html
    assert "default-src 'none'" in html


def test_the_terminal_summary_names_each_widget_with_its_latest_values(
    page: tuple[Path, Any],
) -> None:
    output = page[1].stdout

    for line in ("Orders", "placed", "Placed", "DLQ depth", "Alarms", "Cancelled by reason"):
        assert line in output
    assert re.search(r"Placed\s.*placed\s.*\b10\b", output)
    assert re.search(r"PaymentDeclined\s.*no data", output)
    assert re.search(rf"{ALARM}\s.*ALARM", output)
    assert "wrote" in output


def test_quiet_prints_nothing(deployed: dict[str, Any], tmp_path: Path) -> None:
    written = tmp_path / "quiet.html"
    result = orderflow(deployed["outputs"], "dashboard", "--html", str(written), "--quiet")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Orders" in written.read_text()


def test_chromium_renders_each_widget_on_the_grid(page: tuple[Path, Any], tmp_path: Path) -> None:
    rendered = render(page[0], tmp_path / "dashboard.png")
    dom = parse(rendered.dom)

    assert dom.one("body").attrs.get("data-laid-out") == "true"
    boxes = {
        section.attrs["data-title"]: [int(n) for n in section.attrs["data-box"].split(",")]
        for section in dom.all("section")
    }
    sections = {section.attrs["data-title"]: section for section in dom.all("section")}
    for title in ("Orders", "DLQ depth", "Cancelled by reason"):
        assert sections[title].one("h2").full_text().startswith(title)
        assert sections[title].all("svg", class_="chart"), title
    assert sections["Placed"].one("div", class_="big").full_text() == "10"
    assert sections["Alarms"].one("tr", class_="alarm").attrs["data-state"] == "ALARM"
    assert sections[""].one("div", class_="markdown").one("h3").full_text() == "Orders"
    # the grid: the text widget spans the top; Orders (x 0), Placed (x 12), DLQ depth (x 18)
    # side by side under it; the second row under the first
    left, top, width, _ = range(4)
    assert boxes[""][top] < boxes["Orders"][top]
    assert boxes["Orders"][top] == boxes["Placed"][top] == boxes["DLQ depth"][top]
    assert boxes["Orders"][left] < boxes["Placed"][left] < boxes["DLQ depth"][left]
    assert boxes["Orders"][width] > boxes["Placed"][width]
    assert boxes["Cancelled by reason"][top] > boxes["Orders"][top]
    assert boxes["Cancelled by reason"][left] == boxes["Orders"][left]
    assert rendered.screenshot.stat().st_size > 10_000
