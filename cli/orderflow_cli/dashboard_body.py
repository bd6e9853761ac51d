"""A CloudWatch dashboard body (AWS's "Dashboard Body Structure and Syntax"), read into what
``orderflow dashboard`` queries and draws. Pure: no AWS calls.

What is read, as AWS defines it:

- ``widgets``: ``type`` (``metric``, ``text``, ``alarm``, ``log``; others are shown as not
  rendered), ``x``/``y`` on the 24-column grid (either absent: placed in the first free
  cell, as the console does), ``width``/``height`` (default 6 by 6), ``properties``.
- a metric widget's ``metrics``: each row ``[namespace, name, dim1, value1, ..., {options}]``.
  ``"."`` stands for the item at the same position in the previous row, a leading ``"..."``
  for the previous row's items up to where the rest of this row starts (the console's
  shorthand; CDK writes every row in full). A row that is only ``{"expression": ...}`` is
  metric math (or a ``SEARCH``, or a Metrics Insights ``SELECT``). Options read: ``id``,
  ``label``, ``stat``, ``period``, ``visible``, ``yAxis``, ``color``, ``region``.
- the widget's ``stat`` (default ``Average``), ``period`` (default 300), ``view``
  (``timeSeries``, ``singleValue``, ``bar``, ``pie``, ``gauge``), ``stacked``,
  ``setPeriodToTimeRange``, ``yAxis``, ``annotations`` (``horizontal``, ``vertical``,
  ``alarms``: CDK's ``AlarmWidget`` is a metric widget with only an alarm annotation).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

GRID_COLUMNS = 24
DEFAULT_WIDTH = 6
DEFAULT_HEIGHT = 6
DEFAULT_STAT = "Average"
DEFAULT_PERIOD = 300
VIEWS = ("timeSeries", "singleValue", "bar", "pie", "gauge")
METRIC_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
"""GetMetricData's rule for a query's Id (what a row's ``id`` option must match)."""


class BodyError(ValueError):
    """The body is not a dashboard body AWS would accept."""


@dataclass
class Series:
    """One row of a metric widget, as the MetricDataQuery that answers it."""

    id: str
    label: str
    query: dict[str, Any]
    visible: bool = True
    y_axis: str = "left"
    color: str | None = None
    region: str | None = None

    @property
    def expression(self) -> str | None:
        expression = self.query.get("Expression")
        return str(expression) if expression is not None else None

    @property
    def stat(self) -> str | None:
        stat = self.query.get("MetricStat", {}).get("Stat")
        return str(stat) if stat is not None else None


@dataclass
class Widget:
    type: str
    x: int | None
    y: int | None
    width: int
    height: int
    properties: dict[str, Any]
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What in this widget is not rendered, said on the page."""

    @property
    def title(self) -> str:
        title = self.properties.get("title")
        if title:
            return str(title)
        if self.type == "text":
            return ""
        labels = [series.label for series in self.series if series.visible]
        return ", ".join(labels) if labels else self.type

    @property
    def view(self) -> str:
        return str(self.properties.get("view", "timeSeries"))

    @property
    def alarm_annotations(self) -> list[str]:
        return [str(arn) for arn in self.properties.get("annotations", {}).get("alarms", [])]


@dataclass
class Dashboard:
    name: str
    widgets: list[Widget]
    start: str | None = None
    """The body's own time range (``-PT6H``), used when the command is given none."""


def parse_body(name: str, body: str, *, period_override: int | None = None) -> Dashboard:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        raise BodyError(f"the body of dashboard {name!r} is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("widgets"), list):
        raise BodyError(f"the body of dashboard {name!r} has no widgets array")
    widgets = [
        parse_widget(widget, index, period_override)
        for index, widget in enumerate(document["widgets"])
    ]
    start = document.get("start")
    return Dashboard(name=name, widgets=widgets, start=str(start) if start else None)


def _int(value: Any, default: int, what: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BodyError(f"{what} is {value!r}, not a number")
    return int(value)


def parse_widget(raw: Any, index: int, period_override: int | None = None) -> Widget:
    where = f"widget {index}"
    if not isinstance(raw, dict):
        raise BodyError(f"{where} is not an object")
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise BodyError(f"{where}: properties is not an object")
    width = _int(raw.get("width"), DEFAULT_WIDTH, f"{where}: width")
    height = _int(raw.get("height"), DEFAULT_HEIGHT, f"{where}: height")
    x = None if raw.get("x") is None else _int(raw["x"], 0, f"{where}: x")
    y = None if raw.get("y") is None else _int(raw["y"], 0, f"{where}: y")
    if not 1 <= width <= GRID_COLUMNS or height < 1:
        raise BodyError(f"{where}: width {width} / height {height} outside the 24-column grid")
    if x is not None and not 0 <= x <= GRID_COLUMNS - width:
        raise BodyError(f"{where}: x {x} with width {width} overflows the 24-column grid")
    widget = Widget(
        type=str(raw.get("type", "")),
        x=x,
        y=y,
        width=width,
        height=height,
        properties=properties,
    )
    if widget.type == "metric":
        widget.series = metric_series(properties, where, period_override)
        if widget.view not in VIEWS:
            widget.notes.append(f"view {widget.view!r} is drawn as a time series")
    elif widget.type == "log":
        widget.notes.append(
            "Logs Insights widgets are not run by this page; run the query with "
            "`aws logs start-query`"
        )
    elif widget.type not in {"text", "alarm"}:
        widget.notes.append(f"widget type {widget.type!r} is not rendered by this page")
    return widget


def resolve_rows(rows: Any, where: str) -> list[tuple[list[Any], dict[str, Any]]]:
    """Each row's positional items, with ``"."`` and ``"..."`` replaced by what they repeat,
    and its options object."""
    if not isinstance(rows, list):
        raise BodyError(f"{where}: metrics is not an array of rows")
    resolved: list[tuple[list[Any], dict[str, Any]]] = []
    previous: list[Any] = []
    for number, row in enumerate(rows):
        if not isinstance(row, list):
            raise BodyError(f"{where}: metrics row {number} is not an array")
        options: dict[str, Any] = {}
        items = list(row)
        if items and isinstance(items[-1], dict):
            options = items.pop()
        if items and items[0] == "...":
            rest = items[1:]
            if len(rest) > len(previous):
                raise BodyError(f"{where}: metrics row {number} repeats more than the row before")
            items = previous[: len(previous) - len(rest)] + rest
        for position, item in enumerate(items):
            if item == ".":
                if position >= len(previous):
                    raise BodyError(
                        f"{where}: metrics row {number} item {position} is '.' but the row "
                        "before has nothing there"
                    )
                items[position] = previous[position]
        if items:
            previous = items
        resolved.append((items, options))
    return resolved


def metric_series(
    properties: dict[str, Any], where: str, period_override: int | None = None
) -> list[Series]:
    widget_stat = str(properties.get("stat", DEFAULT_STAT))
    widget_period = _int(properties.get("period"), DEFAULT_PERIOD, f"{where}: period")
    rows = resolve_rows(properties.get("metrics", []), where)
    taken = {str(options["id"]) for _, options in rows if "id" in options}
    for wanted in taken:
        if not METRIC_ID.match(wanted):
            raise BodyError(
                f"{where}: metric id {wanted!r} must start with a lower-case letter and hold "
                "only letters, digits and _"
            )
    names = [items[1] for items, _ in rows if len(items) >= 2]
    metrics = [tuple(items) for items, _ in rows if len(items) >= 2]
    series: list[Series] = []
    counters = {"m": 0, "e": 0}

    def next_id(prefix: str) -> str:
        while True:
            counters[prefix] += 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    for number, (items, options) in enumerate(rows):
        period = period_override or _int(options.get("period"), widget_period, f"{where}: period")
        visible = options.get("visible", True) is not False
        if "expression" in options:
            query_id = str(options.get("id") or next_id("e"))
            label = str(options.get("label") or query_id)
            query: dict[str, Any] = {
                "Id": query_id,
                "Expression": str(options["expression"]),
                "Label": label,
                "ReturnData": visible,
                "Period": period,
            }
        else:
            if len(items) < 2 or len(items) % 2:
                raise BodyError(
                    f"{where}: metrics row {number} is not [namespace, name, dimension, value, "
                    f"...]: {items!r}"
                )
            namespace, name, *pairs = (str(item) for item in items)
            dimensions = [
                {"Name": pairs[i], "Value": pairs[i + 1]} for i in range(0, len(pairs), 2)
            ]
            query_id = str(options.get("id") or next_id("m"))
            stat = str(options.get("stat", widget_stat))
            label = str(options.get("label") or _default_label(items, dimensions, names, metrics))
            if not options.get("label") and metrics.count(tuple(items)) > 1:
                label = f"{label} {stat}"
            metric: dict[str, Any] = {"Namespace": namespace, "MetricName": name}
            if dimensions:
                metric["Dimensions"] = dimensions
            query = {
                "Id": query_id,
                "MetricStat": {
                    "Metric": metric,
                    "Period": period,
                    "Stat": stat,
                },
                "Label": label,
                "ReturnData": visible,
            }
        series.append(
            Series(
                id=query_id,
                label=label,
                query=query,
                visible=visible,
                y_axis="right" if options.get("yAxis") == "right" else "left",
                color=str(options["color"]) if options.get("color") else None,
                region=str(options["region"]) if options.get("region") else None,
            )
        )
    return series


def _default_label(
    items: list[Any], dimensions: list[dict[str, str]], names: list[Any], metrics: list[Any]
) -> str:
    """The metric's name; with its dimension values when another row has the same name but
    other dimensions (the same metric twice differs by its statistic, added by the caller)."""
    name = str(items[1])
    others = [m for m in metrics if m[1] == name and m != tuple(items)]
    if names.count(name) > 1 and dimensions and others:
        return f"{name} ({', '.join(d['Value'] for d in dimensions)})"
    return name


def alarm_series(alarm: dict[str, Any], period_override: int | None = None) -> list[Series]:
    """The series an alarm watches (DescribeAlarms' MetricAlarms entry), as the queries that
    answer them: its single metric, or its metric math queries as the alarm holds them."""
    label = str(alarm.get("AlarmName", "alarm"))
    if alarm.get("Metrics"):
        found = []
        for raw in alarm["Metrics"]:
            query = {k: v for k, v in raw.items() if k != "AccountId"}
            if period_override and "MetricStat" in query:
                query["MetricStat"] = {**query["MetricStat"], "Period": period_override}
            visible = query.get("ReturnData", True) is not False
            name = str(query.get("Label") or query["Id"])
            found.append(Series(id=str(query["Id"]), label=name, query=query, visible=visible))
        return found
    if "MetricName" not in alarm:
        return []
    metric: dict[str, Any] = {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"]}
    if alarm.get("Dimensions"):
        metric["Dimensions"] = alarm["Dimensions"]
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic") or DEFAULT_STAT
    query = {
        "Id": "m1",
        "MetricStat": {
            "Metric": metric,
            "Period": period_override or int(alarm.get("Period", DEFAULT_PERIOD)),
            "Stat": stat,
        },
        "Label": str(alarm["MetricName"]),
        "ReturnData": True,
    }
    return [Series(id="m1", label=f"{alarm['MetricName']} ({label})", query=query)]
