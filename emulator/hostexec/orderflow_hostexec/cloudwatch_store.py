"""One SQLite transaction per ``PutMetricData`` (performance hook
``cloudwatch.put-metric-data-transaction``).

LocalStack 2026.3's CloudWatch stores each datum of a ``PutMetricData`` with a connection and a
commit of its own: about 1 ms of emulator CPU per datum (a request of 18 datums: 18.6 ms).
The kit's metrics (``metrics.py``: EMF, Lambda duration, AWS/States, SQS depths) send
dozens of datums a second under load. This stores the same rows, in the same tables, with
one connection and one commit per request. The same results, cheaper.

Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime
from typing import Any

from orderflow_hostexec.patches import Patch, Target

_DATABASE = "localstack.services.cloudwatch.cloudwatch_database_helper"
_COLUMNS = '"account_id", "region", "metric_name", "namespace", "timestamp", "dimensions", "unit", "storage_resolution"'  # noqa: E501


def rows(
    database: Any, account_id: str, region: str, namespace: str, metric_data: Any
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The (single, aggregated) rows LocalStack's ``add_metric_data`` inserts for a request."""
    now = int(datetime.now(UTC).timestamp())
    singles: list[tuple[Any, ...]] = []
    aggregated: list[tuple[Any, ...]] = []
    for metric in metric_data:
        stamp = metric.get("Timestamp")
        row = (
            account_id,
            region,
            metric.get("MetricName"),
            namespace,
            database._convert_timestamp_to_unix(stamp) if stamp else now,
            database._get_ordered_dimensions_with_separator(metric.get("Dimensions")),
            metric.get("Unit"),
            metric.get("StorageResolution"),
        )
        if metric.get("Value") is not None:
            singles.append((*row, metric.get("Value")))
        elif values := metric.get("Values"):
            counts = metric.get("Counts", [1] * len(values))
            for index, value in enumerate(values):
                singles += [(*row, value)] * int(counts[index])
        if statistics := metric.get("StatisticValues"):
            aggregated.append(
                (
                    *row,
                    statistics.get("SampleCount"),
                    statistics.get("Sum"),
                    statistics.get("Minimum"),
                    statistics.get("Maximum"),
                )
            )
    return singles, aggregated


def store_in_one_transaction() -> None:
    from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase

    def add_metric_data(
        self: Any, account_id: str, region: str, namespace: str, metric_data: Any
    ) -> None:
        singles, aggregated = rows(self, account_id, region, namespace, metric_data)
        if not (singles or aggregated):
            return
        with self.DATABASE_LOCK, sqlite3.connect(self.METRICS_DB) as conn:
            if singles:
                conn.executemany(
                    f"INSERT INTO {self.TABLE_SINGLE_METRICS} ({_COLUMNS}, value) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    singles,
                )
            if aggregated:
                conn.executemany(
                    f"INSERT INTO {self.TABLE_AGGREGATED_METRICS} "
                    f'({_COLUMNS}, "sample_count", "sum", "min", "max") '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    aggregated,
                )
            conn.commit()

    CloudwatchDatabase.add_metric_data = add_metric_data


def _stores_what_we_store() -> str | None:
    """The original inserts the columns this one does, into the same two tables."""
    from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase

    source = inspect.getsource(CloudwatchDatabase.add_metric_data)
    expected = ("TABLE_SINGLE_METRICS", "TABLE_AGGREGATED_METRICS", "StatisticValues", "Counts")
    if missing := [word for word in expected if word not in source]:
        return f"CloudwatchDatabase.add_metric_data no longer mentions {', '.join(missing)}"
    return None


PATCHES = (
    Patch(
        name="cloudwatch.put-metric-data-transaction",
        kind="performance",
        purpose="a PutMetricData's datums stored with one SQLite commit, not one per datum",
        targets=(
            Target(
                _DATABASE,
                "CloudwatchDatabase.add_metric_data",
                parameters=("self", "account_id", "region", "namespace", "metric_data"),
            ),
            Target(_DATABASE, "CloudwatchDatabase.METRICS_DB", shape="object"),
            Target(_DATABASE, "CloudwatchDatabase.TABLE_SINGLE_METRICS", shape="object"),
            Target(_DATABASE, "CloudwatchDatabase.TABLE_AGGREGATED_METRICS", shape="object"),
        ),
        apply=store_in_one_transaction,
        check=_stores_what_we_store,
    ),
)
