"""CloudWatch metrics the open-source LocalStack does not produce, made by the kit.

- **Embedded Metric Format** (EMF): on AWS, CloudWatch Logs turns every log event of a function
  that is an EMF JSON object (``_aws.CloudWatchMetrics``, as Powertools Metrics prints it) into
  metric data points: same namespace, every dimension set, units, and the ``_aws.Timestamp``.
  LocalStack stores the line and nothing more. The kit reads the lines where the function's
  output becomes log events (``telemetry.batched_log_loop`` calls ``observe_log_events``), so
  ``get-metric-statistics --namespace orderflow --metric-name OrdersPlaced`` answers offline.
  A line that is not valid EMF is ignored, with the reason logged (AWS also drops it).
- **AWS/Lambda Duration**: from each invocation's ``REPORT`` line (the host executor writes it
  with the measured duration), per ``FunctionName``, as AWS publishes it.
- **AWS/States** ``ExecutionsSucceeded``, ``ExecutionsFailed``, ``ExecutionsTimedOut``,
  ``ExecutionsAborted`` and ``ExecutionTime`` per ``StateMachineArn``, counted when an execution
  ends (LocalStack's Step Functions publishes no metrics).
- **AWS/SQS** ``ApproximateNumberOfMessagesVisible`` per ``QueueName``, sampled every
  ``ORDERFLOW_SQS_METRICS_INTERVAL_S`` seconds (ctl.py: 10). LocalStack's own SQS metrics stay
  off (``SQS_DISABLE_CLOUDWATCH_METRICS``): they add a PutMetricData per SQS call, including
  every empty poll of every event source mapping, and three metrics per queue per report,
  each datum a SQLite commit. The DLQ alarms and the dashboard need only the visible depth.

Every data point goes through one ``MetricSink``: grouped in memory (same metric, dimensions,
unit and second share one datum with ``Values``/``Counts``) and sent once a second, one
``PutMetricData`` per account, region and namespace. Parsing is standard library only, so
the unit tests (tests/unit/emulator/test_metrics.py) drive it without LocalStack.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orderflow_hostexec.behaviour import function_of_log_group
from orderflow_hostexec.patches import Patch, Target

LOG = logging.getLogger(__name__)
FLUSH_S = 1.0
SQS_INTERVAL_VARIABLE = "ORDERFLOW_SQS_METRICS_INTERVAL_S"
DEFAULT_SQS_INTERVAL_S = 60.0  # AWS's: SQS metrics are one-minute metrics
_MAX_DATA_PER_PUT = 1000  # PutMetricData: at most 1000 metrics per request
_MAX_VALUES_PER_DATUM = 150  # ... and 150 distinct values in a datum's Values
_MAX_DIMENSIONS = 30
_MAX_VALUES_PER_METRIC = 100  # EMF: a metric's value may be an array of up to 100 numbers
_UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
        "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
        "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
        "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip


class EmfError(ValueError):
    """A log line that is EMF-shaped (``_aws`` in a JSON object) but not valid EMF."""


@dataclass(frozen=True)
class Datum:
    """One metric value, as a PutMetricData datum would carry it."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    values: tuple[float, ...]
    timestamp: float  # epoch seconds
    storage_resolution: int = 60


# --- EMF -------------------------------------------------------------------------------------


def parse_emf(line: str) -> list[Datum]:
    """The data points of one EMF log line: every metric under every dimension set of every
    directive. Raises ``EmfError`` saying why a line that claims to be EMF is not."""
    try:
        document = json.loads(line)
    except ValueError as error:
        raise EmfError(f"not JSON ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("_aws"), dict):
        raise EmfError("no _aws object")
    metadata = document["_aws"]
    stamp = metadata.get("Timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool) or stamp < 0:
        raise EmfError("_aws.Timestamp is not a number of milliseconds")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        raise EmfError("_aws.CloudWatchMetrics is not a non-empty list")
    data: list[Datum] = []
    for index, directive in enumerate(directives):
        data += _directive(document, directive, stamp / 1000, f"CloudWatchMetrics[{index}]")
    return data


def _directive(
    document: Mapping[str, Any], directive: Any, timestamp: float, where: str
) -> list[Datum]:
    if not isinstance(directive, dict):
        raise EmfError(f"{where} is not an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
        raise EmfError(f"{where}.Namespace is missing, empty or reserved (AWS/)")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        raise EmfError(f"{where}.Dimensions is not a list")
    sets = [_dimension_set(document, names, f"{where}.Dimensions") for names in dimension_sets]
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or not metrics:
        raise EmfError(f"{where}.Metrics is not a non-empty list")
    data = []
    for definition in metrics:
        name, unit, resolution = _metric_definition(definition, f"{where}.Metrics")
        values = _values(document.get(name), name)
        for dimensions in sets or [()]:
            data.append(Datum(namespace, name, dimensions, unit, values, timestamp, resolution))
    return data


def _dimension_set(
    document: Mapping[str, Any], names: Any, where: str
) -> tuple[tuple[str, str], ...]:
    if not isinstance(names, list) or len(names) > _MAX_DIMENSIONS:
        raise EmfError(f"{where}: a dimension set is not a list of at most 30 names")
    dimensions = []
    for name in names:
        value = document.get(name) if isinstance(name, str) else None
        if not isinstance(value, str) or not value:
            raise EmfError(f"{where}: dimension {name!r} has no string value in the line")
        dimensions.append((name, value))
    return tuple(dimensions)


def _metric_definition(definition: Any, where: str) -> tuple[str, str, int]:
    if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str):
        raise EmfError(f"{where}: a metric has no Name")
    unit = definition.get("Unit", "None")
    if unit not in _UNITS:
        raise EmfError(f"{where}: metric {definition['Name']} has an unknown Unit {unit!r}")
    resolution = definition.get("StorageResolution", 60)
    if resolution not in (1, 60):
        raise EmfError(f"{where}: metric {definition['Name']} StorageResolution is not 1 or 60")
    return definition["Name"], unit, resolution


def _values(value: Any, name: str) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > _MAX_VALUES_PER_METRIC:
        raise EmfError(f"metric {name}: 1 to 100 values expected, found {len(values)}")
    for number in values:
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raise EmfError(f"metric {name}: value {number!r} is not a finite number")
    return tuple(float(number) for number in values)


_REPORT = re.compile(r"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms")


def metrics_from_log_lines(
    group: str, function: str, lines: Iterable[tuple[float, str]]
) -> list[Datum]:
    """What CloudWatch Logs and Lambda make of a function's log lines ``(epoch s, line)`` in
    ``group``: the EMF lines' data points, and the ``REPORT`` lines' ``AWS/Lambda``
    ``Duration`` of ``function`` (a function may log to a group of any name:
    ``LoggingConfig.LogGroup``). A line that claims to be EMF but is not is skipped with its
    reason logged."""
    data: list[Datum] = []
    for stamp, line in lines:
        if line.startswith("{") and '"_aws"' in line:
            try:
                data += parse_emf(line)
            except EmfError as error:
                LOG.info("EMF line of %s ignored: %s", group, error)
        elif line.startswith("REPORT RequestId:") and (match := _REPORT.match(line)):
            dimensions = (("FunctionName", function),)
            duration = (float(match[1]),)
            data.append(
                Datum("AWS/Lambda", "Duration", dimensions, "Milliseconds", duration, stamp)
            )
    return data


# --- the sink --------------------------------------------------------------------------------

type _Key = tuple[str, str, str, str, tuple[tuple[str, str], ...], str, int, int]


class MetricSink:
    """Data points grouped in memory and sent once a second (``PutMetricData``).

    ``publish`` is how a group reaches CloudWatch: ``(account, region, namespace, data)``.
    """

    def __init__(self, publish: Callable[[str, str, str, list[dict[str, Any]]], None]) -> None:
        self._publish = publish
        self._pending: dict[_Key, dict[float, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, account: str, region: str, data: Iterable[Datum]) -> None:
        with self._lock:
            for datum in data:
                key = (
                    account,
                    region,
                    datum.namespace,
                    datum.name,
                    datum.dimensions,
                    datum.unit,
                    datum.storage_resolution,
                    int(datum.timestamp),
                )
                counts = self._pending[key]
                for value in datum.values:
                    counts[value] += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="orderflow-metrics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: defaultdict(int))
        for (account, region, namespace), data in _requests(pending).items():
            for start in range(0, len(data), _MAX_DATA_PER_PUT):
                try:
                    self._publish(
                        account, region, namespace, data[start : start + _MAX_DATA_PER_PUT]
                    )
                except Exception as error:  # the emulator is stopping, or CloudWatch refused
                    LOG.info("Could not publish %s metrics: %s", namespace, error)


def _requests(
    pending: Mapping[_Key, Mapping[float, int]],
) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """PutMetricData ``MetricData`` per (account, region, namespace)."""
    requests: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for key, counts in pending.items():
        account, region, namespace, name, dimensions, unit, resolution, second = key
        values = sorted(counts)
        for start in range(0, len(values), _MAX_VALUES_PER_DATUM):
            chunk = values[start : start + _MAX_VALUES_PER_DATUM]
            requests[(account, region, namespace)].append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
                    "Timestamp": datetime.fromtimestamp(second, UTC),
                    "Unit": unit,
                    "StorageResolution": resolution,
                    "Values": chunk,
                    "Counts": [float(counts[value]) for value in chunk],
                }
            )
    return requests


def _put_metric_data(account: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    from localstack.aws.connect import connect_to

    client = connect_to(aws_access_key_id=account, region_name=region).cloudwatch
    client.put_metric_data(Namespace=namespace, MetricData=data)


SINK = MetricSink(_put_metric_data)


# --- where the data comes from ---------------------------------------------------------------


def observe_log_events(
    role_arn: str, region: str, streams: Mapping[tuple[str, str], list[dict[str, Any]]]
) -> None:
    """Called by ``telemetry.batched_log_loop`` with the log events it is about to store."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "000000000000"
    for (group, _stream), events in streams.items():
        lines = ((event["timestamp"] / 1000, event["message"].rstrip("\n")) for event in events)
        if data := metrics_from_log_lines(group, function_of_log_group(group), lines):
            SINK.add(account, region, data)


_EXECUTION_METRICS = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}


def execution_metrics(
    state_machine_arn: str, status: str, started: datetime | None, stopped: datetime | None
) -> list[Datum]:
    """What AWS publishes when an execution ends: its outcome and its ``ExecutionTime``."""
    name = _EXECUTION_METRICS.get(status)
    if name is None:
        return []
    now = time.time()
    dimensions = (("StateMachineArn", state_machine_arn),)
    data = [Datum("AWS/States", name, dimensions, "Count", (1.0,), now)]
    if started is not None and stopped is not None:
        elapsed = (stopped - started).total_seconds() * 1000
        data.append(
            Datum("AWS/States", "ExecutionTime", dimensions, "Milliseconds", (elapsed,), now)
        )
    return data


def count_execution_outcomes() -> None:
    from localstack.services.stepfunctions.backend import execution

    terminated = execution.BaseExecutionWorkerCommunication.terminated

    def counted(self: Any) -> None:
        terminated(self)
        run = self.execution
        try:
            arn = run.state_machine_arn
            status = getattr(run.exec_status, "value", str(run.exec_status))
            data = execution_metrics(arn, status, run.start_date, run.stop_date)
            SINK.add(run.account_id, run.region_name, data)
        except Exception as error:  # never let a metric break an execution's end
            LOG.info("Could not count the end of %s: %s", getattr(run, "exec_arn", "?"), error)

    execution.BaseExecutionWorkerCommunication.terminated = counted


def queue_depths() -> list[tuple[str, str, Datum]]:
    """``ApproximateNumberOfMessagesVisible`` of every queue, now: (account, region, datum)."""
    from localstack.services.sqs.models import sqs_stores

    now = time.time()
    return [
        (
            account,
            region,
            Datum(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                (("QueueName", queue.name),),
                "Count",
                (float(queue.approximate_number_of_messages),),
                now,
            ),
        )
        for account, region, store in sqs_stores.iter_stores()
        for queue in list(store.queues.values())
    ]


def sqs_interval() -> float:
    raw = os.environ.get(SQS_INTERVAL_VARIABLE, "")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_SQS_INTERVAL_S
    except ValueError:
        LOG.warning(
            "%s=%r is not a number: using %s s", SQS_INTERVAL_VARIABLE, raw, DEFAULT_SQS_INTERVAL_S
        )
        return DEFAULT_SQS_INTERVAL_S


def sample_queue_depths() -> None:
    interval = sqs_interval()

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                for account, region, datum in queue_depths():
                    SINK.add(account, region, [datum])
            except Exception as error:
                LOG.info("Could not sample SQS queue depths: %s", error)

    threading.Thread(target=run, name="orderflow-sqs-depths", daemon=True).start()


def start_sink() -> None:
    from orderflow_hostexec import telemetry

    telemetry.LOG_OBSERVERS.append(observe_log_events)
    SINK.start()


def _execution_knows_its_end() -> str | None:
    import inspect

    from localstack.services.stepfunctions.backend.execution import Execution

    source = inspect.getsource(Execution.__init__)
    used = (
        "state_machine_arn",
        "exec_status",
        "start_date",
        "stop_date",
        "account_id",
        "region_name",
    )
    if missing := [name for name in used if f"self.{name}" not in source]:
        return f"Execution.__init__ no longer sets {', '.join(missing)}"
    return None


_EXECUTION = "localstack.services.stepfunctions.backend.execution"

PATCHES = (
    Patch(
        name="metrics.emf",
        kind="behaviour",
        purpose="EMF log lines become CloudWatch metrics (and REPORT lines AWS/Lambda Duration), "
        "as CloudWatch Logs does; one PutMetricData per namespace a second",
        targets=(Target("orderflow_hostexec.telemetry", "LOG_OBSERVERS", shape="object"),),
        apply=start_sink,
        distributions=(),
    ),
    Patch(
        name="metrics.stepfunctions",
        kind="behaviour",
        purpose="AWS/States ExecutionsSucceeded/Failed/TimedOut/Aborted and ExecutionTime per "
        "StateMachineArn when an execution ends",
        targets=(
            Target(_EXECUTION, "BaseExecutionWorkerCommunication.terminated", parameters=("self",)),
            Target(_EXECUTION, "Execution", shape="class"),
        ),
        apply=count_execution_outcomes,
        check=_execution_knows_its_end,
    ),
    Patch(
        name="metrics.sqs-depth",
        kind="behaviour",
        purpose="AWS/SQS ApproximateNumberOfMessagesVisible per queue every "
        f"{SQS_INTERVAL_VARIABLE} seconds (LocalStack's SQS metrics stay off: too costly)",
        targets=(
            Target("localstack.services.sqs.models", "sqs_stores", shape="object"),
            Target(
                "localstack.services.sqs.models",
                "SqsQueue.approximate_number_of_messages",
                shape="object",
            ),
        ),
        apply=sample_queue_depths,
    ),
)
