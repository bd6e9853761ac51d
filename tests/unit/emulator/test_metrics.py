"""The emulator kit's metrics (emulator/hostexec/orderflow_hostexec/metrics.py): EMF lines to
data points, REPORT lines to AWS/Lambda Duration, execution ends to AWS/States, and the sink's
grouping into PutMetricData requests; and its percentiles (percentiles.py). That CloudWatch
answers for them on the emulator is tested in tests/integration/test_alarms.py."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from orderflow_hostexec import registry
from orderflow_hostexec.alarms import evaluation_range
from orderflow_hostexec.behaviour import function_of_log_group
from orderflow_hostexec.metrics import (
    Datum,
    EmfError,
    MetricSink,
    execution_metrics,
    metrics_from_log_lines,
    parse_emf,
)
from orderflow_hostexec.percentiles import nearest_rank, per_period, percentile_of

STAMP_MS = 1_780_000_000_123


def emf(**root: Any) -> str:
    document = {
        "_aws": {
            "Timestamp": STAMP_MS,
            "CloudWatchMetrics": [
                {
                    "Namespace": "orderflow",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}],
                }
            ],
        },
        "service": "orders",
        "OrdersPlaced": [1.0],
    }
    document.update(root)
    return json.dumps(document)


def test_what_powertools_metrics_prints_becomes_its_data_points(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    metrics = Metrics(namespace="orderflow")
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="OrderCompletionLatency", unit=MetricUnit.Milliseconds, value=840)
    metrics.flush_metrics()
    line = capsys.readouterr().out.strip()

    data = parse_emf(line)

    assert {(d.name, d.unit, d.values) for d in data} == {
        ("OrdersPlaced", "Count", (1.0,)),
        ("OrderCompletionLatency", "Milliseconds", (840.0,)),
    }
    assert {d.namespace for d in data} == {"orderflow"}
    assert {d.dimensions for d in data} == {(("service", "orders"),)}
    stamp = json.loads(line)["_aws"]["Timestamp"] / 1000
    assert {d.timestamp for d in data} == {stamp}


def test_every_metric_under_every_dimension_set() -> None:
    line = emf(
        _aws={
            "Timestamp": STAMP_MS,
            "CloudWatchMetrics": [
                {
                    "Namespace": "orderflow",
                    "Dimensions": [["service"], ["service", "reason"], []],
                    "Metrics": [
                        {"Name": "OrdersCancelled", "Unit": "Count"},
                        {"Name": "Refunds", "Unit": "Count", "StorageResolution": 1},
                    ],
                }
            ],
        },
        reason="OUT_OF_STOCK",
        OrdersCancelled=1,
        Refunds=[2, 3],
    )

    data = parse_emf(line)

    assert len(data) == 6
    assert {d.dimensions for d in data if d.name == "OrdersCancelled"} == {
        (("service", "orders"),),
        (("service", "orders"), ("reason", "OUT_OF_STOCK")),
        (),
    }
    refunds = [d for d in data if d.name == "Refunds"]
    assert {d.values for d in refunds} == {(2.0, 3.0)}
    assert {d.storage_resolution for d in refunds} == {1}
    assert {d.timestamp for d in data} == {STAMP_MS / 1000}


def test_several_directives_in_one_line() -> None:
    directives = [
        {"Namespace": "orderflow", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}]},
        {"Namespace": "other", "Dimensions": [], "Metrics": [{"Name": "B", "Unit": "Seconds"}]},
    ]

    data = parse_emf(emf(_aws={"Timestamp": STAMP_MS, "CloudWatchMetrics": directives}, A=1, B=2))

    assert [(d.namespace, d.name, d.unit, d.dimensions) for d in data] == [
        ("orderflow", "A", "None", (("service", "orders"),)),
        ("other", "B", "Seconds", ()),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"_aws": "x"}), "no _aws object"),
        (emf(_aws={"CloudWatchMetrics": []}), "_aws.Timestamp"),
        (emf(_aws={"Timestamp": STAMP_MS, "CloudWatchMetrics": []}), "non-empty list"),
        (emf(service=7), "dimension 'service' has no string value"),
        (emf(OrdersPlaced="one"), "is not a finite number"),
        (emf(OrdersPlaced=None), "is not a finite number"),
        (emf(OrdersPlaced=list(range(101))), "1 to 100 values"),
        (
            emf(
                _aws={
                    "Timestamp": STAMP_MS,
                    "CloudWatchMetrics": [
                        {"Namespace": "AWS/Lambda", "Dimensions": [], "Metrics": [{"Name": "X"}]}
                    ],
                }
            ),
            "reserved",
        ),
        (
            emf(
                _aws={
                    "Timestamp": STAMP_MS,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "orderflow",
                            "Dimensions": [],
                            "Metrics": [{"Name": "OrdersPlaced", "Unit": "Parsecs"}],
                        }
                    ],
                }
            ),
            "unknown Unit 'Parsecs'",
        ),
    ],
)
def test_a_line_that_is_not_valid_emf_is_refused_with_its_reason(line: str, reason: str) -> None:
    with pytest.raises(EmfError, match=reason):
        parse_emf(line)


def test_log_lines_give_emf_data_and_lambda_duration_and_skip_the_malformed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = [
        (1.0, "START RequestId: 1 Version: $LATEST"),
        (1.0, '{"level":"INFO","message":"order placed"}'),
        (1.0, emf()),
        (1.0, emf(OrdersPlaced="x")),
        (
            2.5,
            "REPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB",
        ),
    ]

    with caplog.at_level(logging.INFO, logger="orderflow_hostexec.metrics"):
        data = metrics_from_log_lines(
            "Orderflow-FulfilmentOrdersPlaceOrd-f1e2733c", "orderflow-dev-PlaceOrder", lines
        )

    assert [(d.namespace, d.name, d.values) for d in data] == [
        ("orderflow", "OrdersPlaced", (1.0,)),
        ("AWS/Lambda", "Duration", (12.34,)),
    ]
    assert data[1].dimensions == (("FunctionName", "orderflow-dev-PlaceOrder"),)
    assert data[1].unit == "Milliseconds"
    assert data[1].timestamp == 2.5
    assert any(
        "EMF line of Orderflow-FulfilmentOrdersPlaceOrd-f1e2733c ignored" in r.getMessage()
        and "OrdersPlaced" in r.getMessage()
        for r in caplog.records
    )


def test_a_log_group_names_its_function_by_lambdas_default_name_unless_configured() -> None:
    # a group seen as a function's LoggingConfig.LogGroup is filled in by the running patch
    # (behaviour.honour_custom_log_groups); the default group names its function
    assert function_of_log_group("/aws/lambda/orderflow-dev-PlaceOrder") == (
        "orderflow-dev-PlaceOrder"
    )


def test_an_execution_end_counts_its_outcome_and_time() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:saga"

    failed = execution_metrics(arn, "FAILED", start, start + timedelta(seconds=2))
    timed_out = execution_metrics(arn, "TIMED_OUT", start, start + timedelta(seconds=1))

    assert [(d.namespace, d.name, d.values) for d in failed] == [
        ("AWS/States", "ExecutionsFailed", (1.0,)),
        ("AWS/States", "ExecutionTime", (2000.0,)),
    ]
    assert {d.dimensions for d in failed} == {(("StateMachineArn", arn),)}
    assert timed_out[0].name == "ExecutionsTimedOut"
    assert execution_metrics(arn, "RUNNING", start, None) == []


def test_the_sink_groups_values_into_one_request_per_namespace() -> None:
    sent: list[tuple[str, str, str, list[dict[str, Any]]]] = []
    sink = MetricSink(lambda *request: sent.append(request))
    dims = (("service", "orders"),)
    sink.add(
        "111", "us-east-1", [Datum("orderflow", "Latency", dims, "Milliseconds", (5.0, 7.0), 10.2)]
    )
    sink.add(
        "111", "us-east-1", [Datum("orderflow", "Latency", dims, "Milliseconds", (5.0,), 10.9)]
    )
    sink.add("111", "us-east-1", [Datum("AWS/States", "ExecutionsFailed", (), "Count", (1.0,), 11)])

    sink.flush()
    sink.flush()  # nothing left: nothing sent

    assert sorted((account, region, ns) for account, region, ns, _ in sent) == [
        ("111", "us-east-1", "AWS/States"),
        ("111", "us-east-1", "orderflow"),
    ]
    (latency,) = next(data for _, _, ns, data in sent if ns == "orderflow")
    assert latency["MetricName"] == "Latency"
    assert latency["Dimensions"] == [{"Name": "service", "Value": "orders"}]
    assert latency["Values"] == [5.0, 7.0]
    assert latency["Counts"] == [2.0, 1.0]
    assert latency["Timestamp"] == datetime.fromtimestamp(10, UTC)
    assert latency["Unit"] == "Milliseconds"


def test_a_request_cloudwatch_refuses_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(*_: Any) -> None:
        raise RuntimeError("CloudWatch is not up")

    sink = MetricSink(refuse)
    sink.add("111", "us-east-1", [Datum("orderflow", "A", (), "Count", (1.0,), 1)])

    with caplog.at_level(logging.INFO, logger="orderflow_hostexec.metrics"):
        sink.flush()

    assert "Could not publish orderflow metrics: CloudWatch is not up" in caplog.text


def test_the_metrics_patches_are_registered() -> None:
    names = {patch.name: patch.kind for patch in registry.ALL}

    assert names["metrics.emf"] == "behaviour"
    assert names["metrics.stepfunctions"] == "behaviour"
    assert names["metrics.sqs-depth"] == "behaviour"


@pytest.mark.parametrize(
    ("stat", "percent"),
    [("p90", 90.0), ("p99.9", 99.9), ("p50", 50.0), ("p100", 100.0), ("p0", 0.0)],
)
def test_percentile_statistics_are_recognised(stat: str, percent: float) -> None:
    assert percentile_of(stat) == percent


@pytest.mark.parametrize("stat", ["Sum", "Maximum", "p", "p101", "tm90", "", "P90"])
def test_other_statistics_are_left_to_localstack(stat: str) -> None:
    assert percentile_of(stat) is None


def test_a_percentile_per_period_by_nearest_rank() -> None:
    rows = [(100 + i, float(i + 1)) for i in range(10)]  # 1..10 in the first minute
    rows += [(170, 500.0), (175, 100.0)]  # two in the second
    rows += [(99, 9999.0), (220, 9999.0)]  # outside [100, 220)

    starts, p90 = per_period(rows, start=100, end=220, period=60, percent=90)
    _, p50 = per_period(rows, start=100, end=220, period=60, percent=50)

    assert starts == [100, 160]
    assert p90 == [9.0, 500.0]
    assert p50 == [5.0, 100.0]
    assert nearest_rank([3.0], 99) == 3.0


@pytest.mark.parametrize(
    ("treat", "judged"),
    [
        ("notBreaching", [None, 0.0]),
        ("breaching", [None, 0.0]),
        ("missing", [3.0, None, None, 0.0]),
        ("ignore", [3.0, None, None, 0.0]),
    ],
)
def test_an_alarm_is_judged_on_its_evaluation_periods(treat: str, judged: list[Any]) -> None:
    fetched = [3.0, None, None, 0.0]  # oldest first: a breach three periods ago

    assert evaluation_range(fetched, {"EvaluationPeriods": 2, "TreatMissingData": treat}) == judged
