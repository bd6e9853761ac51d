"""``orderflow dashboard --html FILE``: the stack's CloudWatch dashboard, drawn from its own
definition (``GetDashboard``) and CloudWatch's data as one self-contained page.

Per metric widget one ``GetMetricData`` with every row of the widget (metric math passed to
CloudWatch as it is written); per alarm (alarm widgets, alarm annotations) ``DescribeAlarms``.
A CloudWatch that refuses part of a widget's queries (LocalStack's open-source CloudWatch
evaluates no metric math and no percentiles) still gets the rest asked: the series it refused
say why on the page, in place of a chart line.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError
from rich.table import Table

from orderflow_cli.dashboard_body import BodyError, Series, Widget, alarm_series
from orderflow_cli.dashboard_body import parse_body as parse_dashboard_body
from orderflow_cli.dashboard_data import Panel, Rendering, SeriesData, format_value
from orderflow_cli.dashboard_html import render_page
from orderflow_cli.stack import StackRef, console, fail, stack_of

DASHBOARD_OUTPUT = "DashboardName"
DEFAULT_SINCE = "3h"
MAX_QUERIES = 500
"""GetMetricData's limit of queries per call (a widget holds at most 100 rows)."""
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_ISO_DURATION = re.compile(r"^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> timedelta:
    """``90m``, ``3h``, ``2d``, ``1w`` (or an ISO 8601 ``-PT3H`` as a dashboard's ``start``)."""
    if match := _DURATION.match(text.strip()):
        seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    elif (iso := _ISO_DURATION.match(text.strip())) and any(iso.groups()):
        days, hours, minutes, secs = (int(part or 0) for part in iso.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError(f"{text!r} is not a duration like 90m, 3h, 2d or 1w")
    if seconds < 60:
        raise ValueError(f"{text!r} is under a minute")
    return timedelta(seconds=seconds)


def check_period(period: int) -> int:
    """CloudWatch's periods: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds."""
    if period in {1, 5, 10, 30} or (period > 0 and period % 60 == 0):
        return period
    raise ValueError(f"period {period} is not 1, 5, 10, 30 or a multiple of 60 seconds")


# --- CloudWatch ------------------------------------------------------------------------------


class CloudWatch:
    """CloudWatch clients per region (a widget may name its own), boto3's defaults otherwise;
    one retry: an emulator that cannot answer a query answers the same the second time."""

    def __init__(self) -> None:
        self._clients: dict[str | None, Any] = {}

    def client(self, region: str | None = None) -> Any:
        if region not in self._clients:
            config = Config(retries={"max_attempts": 2, "mode": "standard"})
            kwargs: dict[str, Any] = {"config": config}
            if region:
                kwargs["region_name"] = region
            self._clients[region] = boto3.client("cloudwatch", **kwargs)
        return self._clients[region]


def get_metric_data(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, tuple[list[datetime], list[float]]]:
    """Id -> (timestamps, values), oldest first, every page of one GetMetricData."""
    found: dict[str, tuple[list[datetime], list[float]]] = {}
    for first in range(0, len(queries), MAX_QUERIES):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[first : first + MAX_QUERIES],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                timestamps, values = found.setdefault(result["Id"], ([], []))
                pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                for timestamp, value in pairs:
                    if value is not None and math.isfinite(value):
                        timestamps.append(timestamp)
                        values.append(float(value))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    for timestamps, values in found.values():  # one order, whatever each page's order was
        ordered = sorted(zip(timestamps, values, strict=True), key=lambda pair: pair[0])
        timestamps[:] = [timestamp for timestamp, _ in ordered]
        values[:] = [value for _, value in ordered]
    return found


def _why(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', '?')}: {details.get('Message', '')}".strip()


def query_series(
    cloudwatch: Any, series: list[Series], start: datetime, end: datetime
) -> list[SeriesData]:
    """Every series of a widget from one GetMetricData. If CloudWatch refuses the call, the
    metric math is set aside (said so per expression) and the metrics asked together; if that
    is refused too, each metric alone, so that one unsupported statistic blanks one series."""
    errors: dict[str, str] = {}
    queries = [s.query for s in series]
    try:
        results = get_metric_data(cloudwatch, queries, start, end)
    except ClientError as refused:
        metrics = [s for s in series if s.expression is None]
        for s in series:
            if s.expression is not None:
                errors[s.id] = (
                    f"metric math not evaluated by this CloudWatch (it refused the widget's "
                    f"query: {_why(refused)})"
                )
        asked = [{**s.query, "ReturnData": True} for s in metrics]
        try:
            results = get_metric_data(cloudwatch, asked, start, end) if asked else {}
        except ClientError:
            results = {}
            for s in metrics:
                try:
                    results.update(
                        get_metric_data(cloudwatch, [{**s.query, "ReturnData": True}], start, end)
                    )
                except ClientError as error:
                    errors[s.id] = (
                        f"statistic {s.stat} not answered by this CloudWatch ({_why(error)})"
                    )
    data = []
    for s in series:
        if not s.visible:
            continue
        timestamps, values = results.get(s.id, ([], []))
        data.append(SeriesData(s, list(timestamps), list(values), errors.get(s.id)))
    return data


def alarm_name(arn: str) -> str:
    """``arn:aws:cloudwatch:region:account:alarm:Name`` -> ``Name`` (a name stays a name)."""
    return arn.split(":alarm:", 1)[1] if ":alarm:" in arn else arn


def describe_alarms(cloudwatch: Any, arns: list[str]) -> list[dict[str, Any]]:
    """The alarms, metric and composite, in the order named; one that does not exist is listed
    with state ``MISSING``."""
    names = [alarm_name(arn) for arn in arns]
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(names), 100):
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=names[first : first + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        for page in pages:
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = alarm
    return [
        found.get(name, {"AlarmName": name, "StateValue": "MISSING", "StateReason": "not found"})
        for name in names
    ]


def widget_window(
    widget: Widget, start: datetime, end: datetime, period_override: int | None
) -> list[Series]:
    """The widget's series; ``setPeriodToTimeRange`` (singleValue, bar, pie, gauge) asks one
    period as long as the time range, so that each series is one value over the range."""
    if not widget.properties.get("setPeriodToTimeRange") or widget.view == "timeSeries":
        return widget.series
    if period_override:
        return widget.series
    seconds = int((end - start).total_seconds())
    whole = -(-seconds // 60) * 60
    adjusted = []
    for series in widget.series:
        query = dict(series.query)
        if "MetricStat" in query:
            query["MetricStat"] = {**query["MetricStat"], "Period": whole}
        elif "Period" in query:
            query["Period"] = whole
        adjusted.append(Series(**{**series.__dict__, "query": query}))
    return adjusted


def fill_panel(
    cloudwatch: CloudWatch,
    widget: Widget,
    start: datetime,
    end: datetime,
    period_override: int | None,
) -> Panel:
    panel = Panel(widget)
    region = widget.properties.get("region")
    client = cloudwatch.client(str(region) if region else None)
    try:
        if widget.type == "alarm":
            panel.alarms = describe_alarms(client, [str(a) for a in widget.properties["alarms"]])
        elif widget.type == "metric":
            series = widget_window(widget, start, end, period_override)
            if widget.alarm_annotations:
                panel.alarms = describe_alarms(client, widget.alarm_annotations)
                if not series:
                    for alarm in panel.alarms:
                        series += alarm_series(alarm, period_override)
            if series:
                panel.data = query_series(client, series, start, end)
    except ClientError as error:
        panel.error = f"CloudWatch refused: {_why(error)}"
    except KeyError as missing:
        panel.error = f"the widget has no {missing}"
    return panel


def gather(
    stack: StackRef,
    name: str | None,
    since: str | None,
    period: int | None,
) -> Rendering:
    dashboard_name = name or stack.output(DASHBOARD_OUTPUT)
    cloudwatch = CloudWatch()
    try:
        client = cloudwatch.client()
        body = client.get_dashboard(DashboardName=dashboard_name)["DashboardBody"]
    except (NoRegionError, NoCredentialsError) as error:
        fail(f"{error} (set AWS_REGION and credentials, or AWS_PROFILE)")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in {"ResourceNotFound", "ResourceNotFoundException", "InvalidParameterValue"}:
            fail(f"no dashboard {dashboard_name!r} in CloudWatch ({_why(error)}): deploy first")
        fail(f"GetDashboard refused: {_why(error)}", code=1)
    try:
        dashboard = parse_dashboard_body(dashboard_name, body, period_override=period)
    except BodyError as error:
        fail(str(error))
    try:
        window = parse_since(since or dashboard.start or DEFAULT_SINCE)
    except ValueError as error:
        fail(f"time range: {error}")
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - window
    panels = [fill_panel(cloudwatch, w, start, end, period) for w in dashboard.widgets]
    return Rendering(dashboard, panels, start, end, client.meta.endpoint_url)


def summary(rendering: Rendering) -> Table:
    table = Table(title=f"dashboard {rendering.dashboard.name}", title_justify="left")
    table.add_column("widget")
    table.add_column("series")
    table.add_column("latest", justify="right")
    for panel in rendering.panels:
        title = panel.widget.title or panel.widget.type
        rows: list[tuple[str, str]] = []
        if panel.error:
            rows.append(("", panel.error))
        for data in panel.data:
            shown = data.error.split(" (", 1)[0] if data.error else format_value(data.latest)
            rows.append((data.series.label, shown))
        for alarm in panel.alarms:
            rows.append((str(alarm.get("AlarmName")), str(alarm.get("StateValue"))))
        rows += [("", note) for note in panel.widget.notes if panel.widget.type != "text"]
        if not rows and panel.widget.type != "text":
            rows.append(("", "no data"))
        for index, (label, value) in enumerate(rows):
            table.add_row(title if index == 0 else "", label, value)
    return table


def dashboard_command(
    ctx: typer.Context,
    *,
    html: Annotated[
        Path, typer.Option("--html", help="Write the dashboard to this self-contained page.")
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="The dashboard (default: the stack's output DashboardName)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="The time range up to now: 90m, 3h, 2d, 1w (default: the dashboard's own "
            "`start`, else 3h).",
        ),
    ] = None,
    period: Annotated[
        int | None,
        typer.Option(
            "--period",
            help="Seconds per datapoint for every series (1, 5, 10, 30 or a multiple of 60), "
            "in place of each widget's own.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Write the page; print nothing else.")
    ] = False,
) -> None:
    """Render the stack's CloudWatch dashboard with its current data as one HTML page.

    The widgets come from the deployed dashboard's definition (GetDashboard), laid out on its
    24-column grid; each metric widget's data from one GetMetricData, alarms' states from
    DescribeAlarms. Then prints each widget's latest values.
    """

    if period is not None:
        try:
            check_period(period)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--period") from None
    if since is not None:
        try:
            parse_since(since)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--since") from None
    rendering = gather(stack_of(ctx), name, since, period)
    try:
        html.write_text(render_page(rendering), encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {html}: {error}")
    if not quiet:
        out = console()
        out.print(summary(rendering))
        out.print(f"wrote {html} ({len(rendering.panels)} widgets)")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard_command)
