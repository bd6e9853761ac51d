"""The dashboard as one self-contained HTML page: the widgets on the dashboard's 24-column grid
(CSS grid), charts drawn here as inline SVG, no script or style from anywhere else.

Every chart carries what it drew as data attributes (``data-series-id``, ``data-values``,
``data-timestamps`` on each series), so that a reader, or a test, can check a chart against
CloudWatch's answer. One small inline script writes each widget's laid-out box
(``data-box``) once the page is drawn.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orderflow_cli.dashboard_data import Panel, Rendering, SeriesData, format_value
from orderflow_cli.dashboard_markdown import render_markdown

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
ROW_PX = 38
"""Height of one grid row; the grid's columns share the page's width."""
COLUMN_PX = 52
"""Width of one column in the charts' own coordinates (they scale to the widget's width)."""
STATE_CLASS = {"OK": "ok", "ALARM": "alarm", "INSUFFICIENT_DATA": "insufficient"}
_COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$")
_DYNAMIC_LABEL = re.compile(r"\$\{(LAST|MIN|MAX|AVG|SUM)\}")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: float) -> str:
    return f"{value:.6g}"


def color_of(data: SeriesData, index: int) -> str:
    color = data.series.color
    return color if color and _COLOR.match(color) else PALETTE[index % len(PALETTE)]


def label_of(data: SeriesData) -> str:
    """The series' label with CloudWatch's dynamic labels (``${LAST}``...) filled in."""
    values = data.values

    def value(match: re.Match[str]) -> str:
        if not values:
            return "no data"
        kind = match.group(1)
        found = {
            "LAST": values[-1],
            "MIN": min(values),
            "MAX": max(values),
            "AVG": sum(values) / len(values),
            "SUM": sum(values),
        }[kind]
        return format_value(found)

    return _DYNAMIC_LABEL.sub(value, data.series.label)


def _iso(timestamp: datetime) -> str:
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def series_attributes(data: SeriesData) -> str:
    attributes = {
        "data-series-id": data.series.id,
        "data-label": label_of(data),
        "data-values": ",".join(_number(v) for v in data.values),
        "data-timestamps": ",".join(_iso(t) for t in data.timestamps),
        "data-axis": data.series.y_axis,
    }
    if data.series.expression is not None:
        attributes["data-expression"] = data.series.expression
    if data.series.stat is not None:
        attributes["data-stat"] = data.series.stat
    if data.error:
        attributes["data-error"] = data.error
    return " ".join(f'{name}="{esc(value)}"' for name, value in attributes.items())


# --- scales ---------------------------------------------------------------------------------


def nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def y_range(values: Iterable[float], axis: dict[str, Any]) -> tuple[float, float, float]:
    """(low, high, step) of an axis: the widget's ``min``/``max`` when set, else from 0 (or
    the lowest value, if negative) to a round number above the highest."""
    found = list(values)
    low = float(axis["min"]) if isinstance(axis.get("min"), int | float) else min([0.0, *found])
    high_set = isinstance(axis.get("max"), int | float)
    high = float(axis["max"]) if high_set else max([low + 1, *found])
    if high <= low:
        high = low + 1
    step = nice_step(high - low)
    if not high_set:
        high = math.ceil(high / step) * step
        if high in found:  # room above the highest point
            high += step
    return low, high, step


# --- time series ----------------------------------------------------------------------------


@dataclass
class TimeChart:
    """A time series chart: the widget's series as lines (areas when ``stacked``) on a left
    and, when a series asks for it, a right axis; horizontal and vertical annotations; the
    thresholds of the alarms it annotates."""

    panel: Panel
    rendering: Rendering
    drawn: list[SeriesData]
    parts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        widget = self.panel.widget
        self.width = widget.width * COLUMN_PX
        self.height = max(110, widget.height * (ROW_PX + 8) - 110)
        self.y_axes: dict[str, Any] = widget.properties.get("yAxis") or {}
        self.annotations: dict[str, Any] = widget.properties.get("annotations") or {}
        self.horizontal = [a for a in self.annotations.get("horizontal", []) if isinstance(a, dict)]
        for alarm in self.panel.alarms:
            if isinstance(alarm.get("Threshold"), int | float):
                self.horizontal.append(
                    {
                        "value": alarm["Threshold"],
                        "label": f"{alarm['AlarmName']} threshold",
                        "color": "#d62728",
                    }
                )
        self.right_used = any(d.series.y_axis == "right" for d in self.drawn)
        self.left, self.top = 52, 10
        self.plot_w = self.width - self.left - (52 if self.right_used else 14)
        self.plot_h = self.height - self.top - 24
        self.t0, self.t1 = self.rendering.start.timestamp(), self.rendering.end.timestamp()
        self.plotted = self._stack(bool(widget.properties.get("stacked")))
        self.scales = {side: self._scale(side) for side in ("left", "right")}

    def _stack(self, stacked: bool) -> dict[str, list[tuple[datetime, float]]]:
        """Each series' points; stacked, each adds to those before it on its axis."""
        plotted: dict[str, list[tuple[datetime, float]]] = {}
        bases: dict[str, dict[datetime, float]] = {"left": {}, "right": {}}
        for data in self.drawn:
            points = list(zip(data.timestamps, data.values, strict=True))
            if stacked:
                base = bases[data.series.y_axis]
                points = [(t, v + base.get(t, 0.0)) for t, v in points]
                base.update(dict(points))
            plotted[data.series.id] = points
        return plotted

    def _scale(self, side: str) -> tuple[float, float, float]:
        values = [
            v for d in self.drawn if d.series.y_axis == side for _, v in self.plotted[d.series.id]
        ]
        values += [
            float(a["value"])
            for a in self.horizontal
            if a.get("yAxis", "left") == side and isinstance(a.get("value"), int | float)
        ]
        return y_range(values, self.y_axes.get(side) or {})

    def x_of(self, timestamp: datetime) -> float:
        return self.left + (timestamp.timestamp() - self.t0) / (self.t1 - self.t0) * self.plot_w

    def y_of(self, value: float, side: str) -> float:
        low, high, _ = self.scales[side]
        return self.top + self.plot_h - (value - low) / (high - low) * self.plot_h

    def svg(self) -> str:
        title = esc(self.panel.widget.title)
        self.parts = [
            f'<svg class="chart" viewBox="0 0 {self.width} {self.height}" width="{self.width}" '
            f'height="{self.height}" preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-label="{title}">'
        ]
        for side in ("left", "right") if self.right_used else ("left",):
            self._y_axis(side)
        self._time_axis()
        self._horizontal_annotations()
        self._vertical_annotations()
        for index, data in enumerate(self.drawn):
            self._series(index, data)
        if not any(data.values for data in self.drawn):
            self.parts.append(
                f'<text class="empty" x="{self.left + self.plot_w / 2}" '
                f'y="{self.top + self.plot_h / 2}" text-anchor="middle">no data</text>'
            )
        self.parts.append("</svg>")
        return "".join(self.parts)

    def _y_axis(self, side: str) -> None:
        low, high, step = self.scales[side]
        right_edge = self.left + self.plot_w
        tick = low
        while tick <= high + step / 1000:
            y = self.y_of(tick, side)
            text = esc(format_value(tick))
            if side == "left":
                self.parts.append(
                    f'<line class="grid" x1="{self.left}" x2="{right_edge}" y1="{y:.1f}" '
                    f'y2="{y:.1f}"/><text class="tick" x="{self.left - 6}" y="{y + 4:.1f}" '
                    f'text-anchor="end">{text}</text>'
                )
            else:
                self.parts.append(
                    f'<text class="tick" x="{right_edge + 6}" y="{y + 4:.1f}">{text}</text>'
                )
            tick += step
        label = (self.y_axes.get(side) or {}).get("label")
        if label:
            x = 12 if side == "left" else self.width - 4
            self.parts.append(
                f'<text class="axis-label" transform="translate({x},'
                f'{self.top + self.plot_h / 2}) rotate(-90)" text-anchor="middle">'
                f"{esc(label)}</text>"
            )

    def _time_axis(self) -> None:
        long_range = self.t1 - self.t0 > 2 * 86400
        for index in range(5):
            moment = datetime.fromtimestamp(self.t0 + (self.t1 - self.t0) * index / 4, UTC)
            text = moment.strftime("%m-%d %H:%M" if long_range else "%H:%M")
            anchor = "start" if index == 0 else "end" if index == 4 else "middle"
            self.parts.append(
                f'<text class="tick" x="{self.left + self.plot_w * index / 4:.1f}" '
                f'y="{self.height - 6}" text-anchor="{anchor}">{esc(text)}</text>'
            )
        bottom = self.top + self.plot_h
        self.parts.append(
            f'<line class="axis" x1="{self.left}" x2="{self.left + self.plot_w}" '
            f'y1="{bottom}" y2="{bottom}"/>'
        )

    def _horizontal_annotations(self) -> None:
        for annotation in self.horizontal:
            value = annotation.get("value")
            if not isinstance(value, int | float) or annotation.get("visible") is False:
                continue
            right = annotation.get("yAxis") == "right" and self.right_used
            y = self.y_of(float(value), "right" if right else "left")
            color = str(annotation.get("color") or "#d62728")
            color = color if _COLOR.match(color) else "#d62728"
            label = annotation.get("label") or _number(float(value))
            self.parts.append(
                f'<g class="annotation" data-value="{esc(_number(float(value)))}">'
                f'<line x1="{self.left}" x2="{self.left + self.plot_w}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{color}" stroke-dasharray="5 3"/>'
                f'<text x="{self.left + self.plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" '
                f'fill="{color}">{esc(label)}</text></g>'
            )

    def _vertical_annotations(self) -> None:
        for annotation in self.annotations.get("vertical", []):
            if not isinstance(annotation, dict) or not isinstance(annotation.get("value"), str):
                continue
            try:
                moment = datetime.fromisoformat(annotation["value"].replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None or not self.t0 <= moment.timestamp() <= self.t1:
                continue
            x = self.x_of(moment)
            self.parts.append(
                f'<g class="annotation vertical"><line x1="{x:.1f}" x2="{x:.1f}" '
                f'y1="{self.top}" y2="{self.top + self.plot_h}" stroke="#7f7f7f" '
                f'stroke-dasharray="4 3"/><text class="tick" x="{x + 3:.1f}" '
                f'y="{self.top + 10}">{esc(annotation.get("label", ""))}</text></g>'
            )

    def _series(self, index: int, data: SeriesData) -> None:
        color = color_of(data, index)
        side = data.series.y_axis
        points = self.plotted[data.series.id]
        coords = [(self.x_of(t), self.y_of(v, side)) for t, v in points]
        self.parts.append(f'<g class="series" {series_attributes(data)} stroke="{color}">')
        if self.panel.widget.properties.get("stacked") and coords:
            floor = self.y_of(self.scales[side][0], side)
            outline = [*coords, *((x, floor) for x, _ in reversed(coords))]
            polygon = " ".join(f"{x:.1f},{y:.1f}" for x, y in outline)
            self.parts.append(f'<polygon points="{polygon}" fill="{color}" fill-opacity="0.15"/>')
        if len(coords) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            self.parts.append(f'<polyline points="{line}" fill="none" stroke-width="2"/>')
        for (x, y), t, value in zip(coords, data.timestamps, data.values, strict=True):
            self.parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{esc(label_of(data))} {esc(_iso(t))}: {esc(format_value(value))}"
                "</title></circle>"
            )
        self.parts.append("</g>")


def legend(drawn: list[SeriesData]) -> str:
    items = []
    for index, data in enumerate(drawn):
        if data.error:
            state = f'<span class="error">{esc(data.error)}</span>'
        elif not data.values:
            state = '<span class="no-data">no data</span>'
        else:
            state = f'<span class="latest">{esc(format_value(data.latest))}</span>'
        items.append(
            f'<li data-series-id="{esc(data.series.id)}">'
            f'<span class="swatch" style="background:{color_of(data, index)}"></span>'
            f'<span class="label">{esc(label_of(data))}</span> {state}</li>'
        )
    return f'<ul class="legend">{"".join(items)}</ul>'


# --- single value, bar, pie, gauge ----------------------------------------------------------


def sparkline(data: SeriesData, color: str) -> str:
    if len(data.values) < 2:
        return ""
    low, high = min(data.values), max(data.values)
    span = (high - low) or 1
    t0, t1 = data.timestamps[0].timestamp(), data.timestamps[-1].timestamp()
    points = " ".join(
        f"{(t.timestamp() - t0) / ((t1 - t0) or 1) * 100:.1f},{28 - (v - low) / span * 26:.1f}"
        for t, v in zip(data.timestamps, data.values, strict=True)
    )
    return (
        '<svg class="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none">'
        f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/></svg>'
    )


def single_values(panel: Panel, drawn: list[SeriesData]) -> str:
    show_sparkline = bool(panel.widget.properties.get("sparkline"))
    items = []
    for index, data in enumerate(drawn):
        if data.error:
            value = f'<div class="big error">{esc(data.error)}</div>'
        elif data.latest is None:
            value = '<div class="big no-data">no data</div>'
        else:
            value = f'<div class="big">{esc(format_value(data.latest))}</div>'
        extra = sparkline(data, color_of(data, index)) if show_sparkline else ""
        items.append(
            f'<div class="single series" {series_attributes(data)}>'
            f'<div class="label">{esc(label_of(data))}</div>{value}{extra}</div>'
        )
    return f'<div class="singles">{"".join(items)}</div>'


def bars(panel: Panel, drawn: list[SeriesData]) -> str:
    """One bar per series, its latest value (with ``setPeriodToTimeRange``, the range's),
    its label above it."""
    width, row = panel.widget.width * COLUMN_PX, 36
    height = max(row * len(drawn) + 6, 40)
    values = [d.latest for d in drawn if d.latest is not None]
    low, high, _ = y_range(values, (panel.widget.properties.get("yAxis") or {}).get("left") or {})
    span = width - 70
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" preserveAspectRatio="xMinYMin meet">'
    ]
    for index, data in enumerate(drawn):
        y = 3 + index * row
        parts.append(
            f'<g class="series bar" {series_attributes(data)}>'
            f'<text class="tick" x="0" y="{y + 10}">{esc(label_of(data))}</text>'
        )
        if data.latest is None:
            parts.append(
                f'<text class="no-data" x="0" y="{y + 26}">{esc(data.error or "no data")}</text>'
            )
        else:
            length = max(1.0, (data.latest - low) / (high - low) * span)
            parts.append(
                f'<rect x="0" y="{y + 14}" width="{length:.1f}" height="{row - 18}" '
                f'fill="{color_of(data, index)}" data-value="{esc(_number(data.latest))}"/>'
                f'<text class="tick" x="{length + 4:.1f}" y="{y + 27}">'
                f"{esc(format_value(data.latest))}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def pie(panel: Panel, drawn: list[SeriesData]) -> str:
    total = sum(d.latest for d in drawn if d.latest is not None and d.latest > 0)
    if total <= 0:
        return '<div class="empty no-data">no data</div>' + legend(drawn)
    parts = ['<svg class="chart pie" viewBox="-110 -110 220 220" width="220" height="220">']
    angle = -math.pi / 2
    for index, data in enumerate(drawn):
        value = data.latest or 0.0
        if value <= 0:
            continue
        sweep = value / total * 2 * math.pi
        color = color_of(data, index)
        attributes = series_attributes(data)
        if sweep >= 2 * math.pi - 1e-9:
            parts.append(f'<circle class="series slice" {attributes} r="100" fill="{color}"/>')
        else:
            x0, y0 = 100 * math.cos(angle), 100 * math.sin(angle)
            x1, y1 = 100 * math.cos(angle + sweep), 100 * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            parts.append(
                f'<path class="series slice" {attributes} fill="{color}" d="M0,0 '
                f'L{x0:.2f},{y0:.2f} A100,100 0 {large} 1 {x1:.2f},{y1:.2f} Z"/>'
            )
        angle += sweep
    parts.append("</svg>")
    return "".join(parts) + legend(drawn)


def gauge(panel: Panel, drawn: list[SeriesData]) -> str:
    axis = (panel.widget.properties.get("yAxis") or {}).get("left") or {}
    low = float(axis.get("min", 0)) if isinstance(axis.get("min"), int | float) else 0.0
    high = float(axis.get("max", 100)) if isinstance(axis.get("max"), int | float) else 100.0
    items = []
    for index, data in enumerate(drawn):
        color = color_of(data, index)
        arc = '<path d="M-90,0 A90,90 0 0 1 90,0" stroke="#ddd" stroke-width="16" fill="none"/>'
        if data.latest is not None and high > low:
            share = min(1.0, max(0.0, (data.latest - low) / (high - low)))
            angle = math.pi * (1 - share)
            x, y = 90 * math.cos(angle), -90 * math.sin(angle)
            arc += (
                f'<path d="M-90,0 A90,90 0 0 1 {x:.2f},{y:.2f}" stroke="{color}" '
                'stroke-width="16" fill="none"/>'
            )
        shown = esc(data.error or format_value(data.latest))
        items.append(
            f'<div class="gauge series" {series_attributes(data)}>'
            f'<svg viewBox="-110 -100 220 120" width="220" height="120">{arc}'
            f'<text x="0" y="-10" text-anchor="middle" class="gauge-value">{shown}</text>'
            f'<text x="-90" y="16" text-anchor="middle" class="tick">{esc(format_value(low))}'
            f'</text><text x="90" y="16" text-anchor="middle" class="tick">'
            f"{esc(format_value(high))}</text></svg>"
            f'<div class="label">{esc(label_of(data))}</div></div>'
        )
    return f'<div class="gauges">{"".join(items)}</div>'


# --- alarms ---------------------------------------------------------------------------------


def state_badge(state: str) -> str:
    return f'<span class="state {STATE_CLASS.get(state, "missing")}">{esc(state)}</span>'


def alarm_table(panel: Panel) -> str:
    wanted = panel.widget.properties.get("states")
    alarms = [
        alarm
        for alarm in panel.alarms
        if not isinstance(wanted, list) or alarm.get("StateValue") in wanted
    ]
    if panel.widget.properties.get("sortBy") == "stateUpdatedTimestamp":
        alarms.sort(key=lambda a: str(a.get("StateUpdatedTimestamp", "")), reverse=True)
    if not alarms:
        return '<div class="empty no-data">no alarms</div>'
    rows = []
    for alarm in alarms:
        updated = alarm.get("StateUpdatedTimestamp")
        when = _iso(updated) if isinstance(updated, datetime) else ""
        state = str(alarm.get("StateValue"))
        rows.append(
            f'<tr class="alarm" data-alarm="{esc(alarm.get("AlarmName"))}" '
            f'data-state="{esc(state)}"><td>{state_badge(state)}</td>'
            f"<td>{esc(alarm.get('AlarmName'))}</td>"
            f'<td class="reason">{esc(alarm.get("StateReason", ""))}</td>'
            f"<td>{esc(when)}</td></tr>"
        )
    return (
        '<table class="alarms"><thead><tr><th>state</th><th>alarm</th><th>reason</th>'
        f"<th>since</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# --- the page -------------------------------------------------------------------------------


def metric_body(panel: Panel, rendering: Rendering) -> str:
    drawn = panel.data
    if not drawn:
        return '<div class="empty no-data">no data</div>'
    views = {"singleValue": single_values, "bar": bars, "pie": pie, "gauge": gauge}
    if draw := views.get(panel.widget.view):
        return draw(panel, drawn)
    return TimeChart(panel, rendering, drawn).svg() + legend(drawn)


def widget_body(panel: Panel, rendering: Rendering) -> str:
    widget = panel.widget
    if panel.error:
        return f'<div class="error">{esc(panel.error)}</div>'
    if widget.type == "text":
        markdown = render_markdown(str(widget.properties.get("markdown", "")))
        return f'<div class="markdown">{markdown}</div>'
    if widget.type == "alarm":
        return alarm_table(panel)
    if widget.type == "log":
        return f'<pre class="query">{esc(widget.properties.get("query", ""))}</pre>'
    if widget.type == "metric":
        return metric_body(panel, rendering)
    return ""


def widget_html(panel: Panel, rendering: Rendering) -> str:
    widget = panel.widget
    if widget.x is not None and widget.y is not None:
        place = (
            f"grid-column:{widget.x + 1} / span {widget.width};"
            f"grid-row:{widget.y + 1} / span {widget.height}"
        )
    else:
        place = f"grid-column:span {widget.width};grid-row:span {widget.height}"
    title = widget.title
    badges = "".join(state_badge(str(a.get("StateValue"))) for a in panel.alarms)
    heading = (
        f'<h2 class="title">{esc(title)} {badges if widget.type == "metric" else ""}</h2>'
        if title
        else ""
    )
    notes = "".join(f'<p class="note">{esc(note)}</p>' for note in widget.notes)
    classes = f"widget widget-{esc(widget.type)}"
    if widget.type == "metric":
        classes += f" view-{esc(widget.view)}"
    if widget.type == "text" and widget.properties.get("background") == "transparent":
        classes += " transparent"
    attributes = {
        "data-type": widget.type,
        "data-view": widget.view if widget.type == "metric" else "",
        "data-title": title,
        "data-x": "" if widget.x is None else widget.x,
        "data-y": "" if widget.y is None else widget.y,
        "data-width": widget.width,
        "data-height": widget.height,
    }
    attrs = " ".join(f'{k}="{esc(v)}"' for k, v in attributes.items())
    return (
        f'<section class="{classes}" {attrs} style="{place}">{heading}'
        f'<div class="body">{widget_body(panel, rendering)}</div>{notes}</section>'
    )


STYLE = """
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#16191f;
 background:#f2f3f3}
header{padding:10px 16px;background:#232f3e;color:#fff}
header h1{margin:0;font-size:18px}
header p{margin:2px 0 0;color:#d5dbdb;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(24,minmax(0,1fr));grid-auto-rows:ROWpx;
 grid-auto-flow:row dense;gap:8px;padding:12px}
.widget{background:#fff;border:1px solid #d5dbdb;border-radius:3px;padding:6px 10px;
 overflow:auto;min-width:0;display:flex;flex-direction:column}
.widget>.body{flex:1 1 0;min-height:0;display:flex;flex-direction:column}
.widget>.title,.widget>.note,.legend{flex:none}
.widget.transparent{background:transparent;border-color:transparent}
.title{font-size:14px;margin:0 0 4px;font-weight:600}
.chart{width:100%;flex:1 1 0;min-height:70px;display:block}
.chart .grid{stroke:#eaeded;padding:0}
.chart .axis{stroke:#879596}
.tick{font-size:10px;fill:#545b64}
.axis-label{font-size:10px;fill:#545b64}
.annotation text{font-size:10px}
.empty{fill:#879596;color:#879596;font-style:italic}
.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:0 12px;
 font-size:12px}
.legend li{display:flex;align-items:center;gap:4px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px}
.latest{font-weight:600}
.no-data{color:#879596;font-style:italic}
.error{color:#d13212}
.singles,.gauges{display:flex;flex-wrap:wrap;gap:10px 24px}
.single .big{font-size:30px;font-weight:300}
.single .big.no-data,.single .big.error{font-size:14px}
.sparkline{width:140px;height:30px;display:block}
.gauge-value{font-size:22px}
table.alarms{border-collapse:collapse;width:100%}
table.alarms td,table.alarms th{text-align:left;padding:3px 6px;border-bottom:1px solid #eaeded}
.reason{color:#545b64;font-size:12px}
.state{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;font-weight:600;
 color:#fff;background:#879596}
.state.ok{background:#1d8102}.state.alarm{background:#d13212}
.note{color:#8a6d3b;font-size:11px;margin:4px 0 0}
.markdown h3,.markdown h4,.markdown h5{margin:4px 0}
.markdown table{border-collapse:collapse}
.markdown td,.markdown th{border:1px solid #d5dbdb;padding:2px 6px}
.markdown code{background:#f2f3f3;padding:0 3px}
a.button{display:inline-block;padding:2px 10px;border:1px solid #545b64;border-radius:2px}
pre.query{white-space:pre-wrap;font-size:11px;background:#f2f3f3;padding:6px}
""".replace("ROW", str(ROW_PX))

SCRIPT = """
window.addEventListener('load', function () {
  document.querySelectorAll('section.widget').forEach(function (section) {
    var box = section.getBoundingClientRect();
    section.dataset.box = [box.left, box.top, box.width, box.height]
      .map(function (n) { return Math.round(n); }).join(',');
  });
  document.body.dataset.laidOut = 'true';
});
"""


CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
"""Nothing from anywhere: the page's own style and script only."""


def render_page(rendering: Rendering) -> str:
    dashboard = rendering.dashboard
    span = f"{_iso(rendering.start)} to {_iso(rendering.end)}"
    widgets = "\n".join(widget_html(panel, rendering) for panel in rendering.panels)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{esc(dashboard.name)}: CloudWatch dashboard</title>
<style>{STYLE}</style>
</head>
<body data-dashboard="{esc(dashboard.name)}" data-start="{esc(_iso(rendering.start))}"
 data-end="{esc(_iso(rendering.end))}">
<header><h1>{esc(dashboard.name)}</h1>
<p>CloudWatch dashboard, {esc(span)} (UTC), from {esc(rendering.endpoint)}; written by
<code>orderflow dashboard</code> at {esc(_iso(datetime.now(UTC)))}</p></header>
<main class="grid">
{widgets}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
