"""Percentile statistics (``p50``, ``p90``, ``p99.9`` ...) in the emulator's CloudWatch, as on
AWS (behaviour fix ``cloudwatch.percentiles``).

LocalStack 2026.3's CloudWatch knows only Sum, Average, Minimum, Maximum and SampleCount:
``GetMetricData`` with ``Stat: p90`` failed (its SQL has no aggregation for it), and an alarm
with an ``ExtendedStatistic`` was stored but never evaluated ("not yet supported"). The stack
holds order latency to its objective at p90 and draws p50/p90/p99 and Lambda duration p90 on
its dashboard. This computes a percentile per period from the stored values (every value the
kit's metrics sink and ``PutMetricData`` ``Value``/``Values`` stored; data sent only as
``StatisticValues`` has no values to rank, as on AWS, where such data has no percentiles
either), nearest rank; and the alarm scheduler evaluates an ``ExtendedStatistic`` alarm with it.

Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from orderflow_hostexec.patches import Patch, Target

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_DATABASE = "localstack.services.cloudwatch.cloudwatch_database_helper"
_SCHEDULER = "localstack.services.cloudwatch.alarm_scheduler"


def percentile_of(stat: str) -> float | None:
    """``p90`` -> 90.0; None for anything that is not a percentile statistic."""
    match = _PERCENTILE.match(stat or "")
    return float(match[1]) if match else None


def nearest_rank(values: Iterable[float], percent: float) -> float:
    """The ``percent`` percentile of ``values`` (at least one), nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def per_period(
    rows: Iterable[tuple[int, float]], start: int, end: int, period: int, percent: float
) -> tuple[list[int], list[float]]:
    """The percentile of each period of ``[start, end)`` that has values: (starts, values),
    ascending."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for timestamp, value in rows:
        if start <= timestamp < end:
            buckets[start + (timestamp - start) // period * period].append(value)
    starts = sorted(buckets)
    return starts, [nearest_rank(buckets[bucket], percent) for bucket in starts]


def compute_percentiles() -> None:
    from localstack.aws.api.cloudwatch import ScanBy
    from localstack.services.cloudwatch import alarm_scheduler
    from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase

    original = CloudwatchDatabase.get_metric_data_stat

    def get_metric_data_stat(  # noqa: PLR0917 (LocalStack's signature)
        self: Any,
        account_id: str,
        region: str,
        query: Any,
        start_time: Any,
        end_time: Any,
        scan_by: str,
    ) -> dict[str, list[Any]]:
        metric_stat = query.get("MetricStat") or {}
        percent = percentile_of(metric_stat.get("Stat", ""))
        if percent is None:
            return original(self, account_id, region, query, start_time, end_time, scan_by)
        metric = metric_stat.get("Metric", {})
        dimensions = metric.get("Dimensions") or []
        start = self._convert_timestamp_to_unix(start_time)
        end = self._convert_timestamp_to_unix(end_time)
        sql = (
            f"SELECT timestamp, value FROM {self.TABLE_SINGLE_METRICS} "
            "WHERE account_id = ? AND region = ? AND namespace = ? AND metric_name = ? "
            "AND timestamp >= ? AND timestamp < ? "
        )
        data: tuple[Any, ...] = (
            account_id,
            region,
            metric.get("Namespace"),
            metric.get("MetricName"),
            start,
            end,
        )
        if dimensions:
            sql += "AND dimensions LIKE ? "
            data += (self._get_ordered_dimensions_with_separator(dimensions, for_search=True),)
        else:
            sql += "AND dimensions IS NULL "
        if unit := metric_stat.get("Unit"):
            sql += "AND unit IS NULL " if unit == "NULL_VALUE" else "AND unit = ? "
            data += () if unit == "NULL_VALUE" else (unit,)
        with self.DATABASE_LOCK, sqlite3.connect(self.METRICS_DB_READ_ONLY, uri=True) as conn:
            rows = conn.execute(sql, data).fetchall()
        starts, values = per_period(rows, start, end, int(metric_stat["Period"]), percent)
        if scan_by is None or scan_by == ScanBy.TimestampDescending:
            starts, values = starts[::-1], values[::-1]
        return {"timestamps": starts, "values": values}

    CloudwatchDatabase.get_metric_data_stat = get_metric_data_stat

    build_query = alarm_scheduler.generate_metric_query

    def generate_metric_query(alarm_details: Any) -> Any:
        extended = alarm_details.get("ExtendedStatistic")
        if alarm_details.get("Statistic") or not extended:
            return build_query(alarm_details)
        return build_query({**alarm_details, "Statistic": extended})

    alarm_scheduler.generate_metric_query = generate_metric_query

    supported = alarm_scheduler.AlarmScheduler._is_alarm_supported

    def _is_alarm_supported(self: Any, alarm_details: Any) -> bool:
        extended = alarm_details.get("ExtendedStatistic")
        if "Statistic" not in alarm_details and percentile_of(extended) is not None:
            alarm_details = {**alarm_details, "Statistic": extended}
        return bool(supported(self, alarm_details))

    alarm_scheduler.AlarmScheduler._is_alarm_supported = _is_alarm_supported


PATCHES = (
    Patch(
        name="cloudwatch.percentiles",
        kind="behaviour",
        purpose="GetMetricData answers percentile statistics (p90, p99.9) and alarms with an "
        "ExtendedStatistic are evaluated",
        targets=(
            Target(
                _DATABASE,
                "CloudwatchDatabase.get_metric_data_stat",
                parameters=(
                    "self",
                    "account_id",
                    "region",
                    "query",
                    "start_time",
                    "end_time",
                    "scan_by",
                ),
            ),
            Target(_DATABASE, "CloudwatchDatabase._convert_timestamp_to_unix"),
            Target(_DATABASE, "CloudwatchDatabase._get_ordered_dimensions_with_separator"),
            Target(_DATABASE, "CloudwatchDatabase.TABLE_SINGLE_METRICS", shape="object"),
            Target(_DATABASE, "CloudwatchDatabase.METRICS_DB_READ_ONLY", shape="object"),
            Target(_SCHEDULER, "generate_metric_query", parameters=("alarm_details",)),
            Target(
                _SCHEDULER,
                "AlarmScheduler._is_alarm_supported",
                parameters=("self", "alarm_details"),
            ),
            Target("localstack.aws.api.cloudwatch", "ScanBy", shape="class"),
        ),
        apply=compute_percentiles,
    ),
)
