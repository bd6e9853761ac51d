"""A dashboard with CloudWatch's answers: what ``orderflow dashboard`` gathered for each widget,
which both the terminal summary (``dashboard.py``) and the page (``dashboard_html.py``) draw."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderflow_cli.dashboard_body import Dashboard, Series, Widget


@dataclass
class SeriesData:
    """What CloudWatch answered for one series (or why it did not)."""

    series: Series
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def latest(self) -> float | None:
        return self.values[-1] if self.values else None


@dataclass
class Panel:
    """A widget with its data: series for metric widgets, alarms for alarm widgets and alarm
    annotations."""

    widget: Widget
    data: list[SeriesData] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Rendering:
    dashboard: Dashboard
    panels: list[Panel]
    start: datetime
    end: datetime
    endpoint: str


def format_value(value: float | None) -> str:
    if value is None:
        return "no data"
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
