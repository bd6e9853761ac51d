"""bench/ab_report.py: reading each side's benchmark output, the per-order counts and the
before/after table (the pure parts of bench/ab.py)."""

from __future__ import annotations

import math

import pytest

from bench import ab_report as report
from bench.cpu import cpu_table
from bench.stats import summary, table

ORDERS_OUTPUT = (
    table(
        [
            ("GET /products (baseline)", summary([30.0, 34.0, 40.0])),
            ("POST /orders -> terminal status", summary([8000.0, 8500.0, 9900.0])),
        ]
    )
    + "\n\noffered: 90 orders at 3/s; settled: 89 in 40.3 s from the first POST -> sustained"
    " 2.21 orders/s\n\nCPU of the emulator's processes from the first POST to the last order"
    " settled:\n\n"
    + cpu_table(
        {"Lambda runtimes": 11.43, "DynamoDB Local (Java)": 9.54, "LocalStack": 36.54},
        wall_s=40.0,
        orders=90,
    )
    + "\noutcomes: tok_ok->CONFIRMED: 70\ninvariant violations: 2\n  - SKU-1: ...\n"
)

INVOKE_OUTPUT = table(
    [
        ("in-process handler call (baseline)", summary([0.01])),
        ("emulator API floor: lambda.list_functions (baseline)", summary([3.0, 4.0, 5.0])),
        ("warm invoke, end to end", summary([5.0, 6.0])),
        ("cold start (first invoke, new environment)", summary([70.0, 72.0, 90.0])),
    ]
)


def test_reads_what_bench_orders_prints() -> None:
    run = report.parse_orders(ORDERS_OUTPUT)

    assert run.products_p50 == 34.0
    assert (run.terminal_p50, run.terminal_p95) == (8500.0, 9900.0)
    assert (run.offered, run.settled, run.sustained) == (90, 89, 2.21)
    assert run.cpu_per_order == {
        "LocalStack": 406.0,
        "Lambda": 127.0,
        "DynamoDB Local": 106.0,
        "all": 639.0,
    }
    assert run.violations == 2


def test_reads_what_bench_lambda_invoke_prints() -> None:
    run = report.parse_invoke(INVOKE_OUTPUT)

    assert (run.floor_p50, run.warm_p50, run.cold_p50) == (4.0, 5.5, 72.0)


def test_output_without_the_numbers_is_refused() -> None:
    with pytest.raises(report.OutputNotUnderstood):
        report.parse_orders("Traceback (most recent call last): ...")
    with pytest.raises(report.OutputNotUnderstood):
        report.parse_invoke(INVOKE_OUTPUT.replace("cold start", "warm start"))


def key(caller: str, service: str, operation: str, detail: str = "") -> report.Key:
    return (caller, service, operation, detail)


def test_counts_per_order_leave_out_polls_bookkeeping_and_background() -> None:
    run = {
        key("service:apigateway", "lambda", "Invoke"): 20,
        key("function", "dynamodb", "TransactWriteItems"): 30,
        key("service:lambda", "sqs", "ReceiveMessage", "empty"): 500,
        key("service:lambda", "sqs", "ReceiveMessage"): 10,
        key("bench", "dynamodb", "BatchGetItem"): 40,
        # the SQS depth sampler: 6 a minute idle, 12 in a 2-minute run
        key("client", "cloudwatch", "PutMetricData"): 13,
        key("service:localstack", "cloudwatch", "DescribeAlarms"): 45,
    }
    idle = {
        key("client", "cloudwatch", "PutMetricData"): 3,
        key("service:lambda", "sqs", "ReceiveMessage", "empty"): 200,
    }

    per_order = report.order_counts(run, run_s=120.0, idle=idle, idle_s=30.0, orders=10)

    assert per_order == {
        key("service:apigateway", "lambda", "Invoke"): 2.0,
        key("function", "dynamodb", "TransactWriteItems"): 3.0,
        key("service:lambda", "sqs", "ReceiveMessage"): 1.0,
        key("client", "cloudwatch", "PutMetricData"): 0.1,
    }


def test_background_larger_than_the_run_counts_nothing() -> None:
    run = {key("client", "cloudwatch", "PutMetricData"): 2}
    idle = {key("client", "cloudwatch", "PutMetricData"): 10}

    assert report.order_counts(run, run_s=10.0, idle=idle, idle_s=10.0, orders=5) == {}


def test_summary_adds_up_services_and_names_the_headline_counts() -> None:
    per_order = {
        key("service:apigateway", "lambda", "Invoke"): 2.0,
        key("service:states", "lambda", "Invoke"): 4.0,
        key("function", "dynamodb", "PutItem"): 3.0,
        key("service:states", "dynamodb", "UpdateItem"): 1.0,
        key("client", "execute-api", "POST /orders"): 1.0,
        key("service:states", "lambda", "Invoke", "error:TooManyRequestsException"): 0.5,
    }

    counts = report.summarise_counts(per_order, transitions=9.5, executions=1.0)

    assert counts.gateway == 11.5
    assert counts.lambda_invocations == 6.0
    assert counts.by_operation["lambda Invoke (error:TooManyRequestsException)"] == 0.5
    assert counts.dynamodb == 4.0
    assert counts.by_service == {"lambda": 6.5, "dynamodb": 4.0, "execute-api": 1.0}
    assert counts.by_operation["lambda Invoke"] == 6.0
    assert (counts.transitions, counts.executions) == (9.5, 1.0)


def test_idle_rates_by_service_include_empty_polls_but_not_the_bench() -> None:
    idle = {
        key("service:lambda", "sqs", "ReceiveMessage", "empty"): 300,
        key("service:lambda", "dynamodbstreams", "GetRecords", "empty"): 150,
        key("bench", "dynamodb", "Scan"): 99,
    }

    assert report.idle_rates(idle, idle_s=30.0) == {"sqs": 10.0, "dynamodbstreams": 5.0}


@pytest.mark.parametrize(
    ("target", "before", "after", "met"),
    [
        (report.Target("ratio<=", 0.5), 640.0, 300.0, True),
        (report.Target("ratio<=", 0.5), 640.0, 330.0, False),
        (report.Target("ratio>=", 2), 2.2, 4.4, True),
        (report.Target("ratio>=", 2), 2.2, 4.3, False),
        (report.Target("after<=", 15), 47.0, 15.0, True),
        (report.Target("after<=", 15), 10.0, 15.5, False),
        (report.Target("ratio<=", 0.5), 0.0, 1.0, None),
        (report.Target("after<=", 8), 18.0, math.nan, None),
    ],
)
def test_targets(target: report.Target, before: float, after: float, met: bool | None) -> None:
    assert target.met(before, after) is met


def test_table_shows_values_ratio_target_and_verdict() -> None:
    rows = [
        report.Row("CPU per order", 640.0, 300.0, "ms", report.Target("ratio<=", 0.5), 0),
        report.Row("sustained", 2.2, 3.3, "/s", report.Target("ratio>=", 2), 2),
        report.Row("long poll", math.nan, 12.0, "x", report.Target("after<=", 15)),
    ]

    lines = report.markdown(rows).splitlines()

    assert lines[0] == "| measure | before | after | after / before | target | met |"
    assert lines[2] == "| CPU per order | 640 ms | 300 ms | 0.47x | <= 0.5x | yes |"
    assert lines[3] == "| sustained | 2.20 /s | 3.30 /s | 1.50x | >= 2x | NO |"
    assert lines[4] == "| long poll | n/a x | 12.0 x | n/a | after <= 15 | yes |"


def test_rounds_combine_by_median_ignoring_missing_values() -> None:
    assert report.middle([3.0, 1.0, 2.0]) == 2.0
    assert report.middle([4.0, math.nan, 2.0]) == 3.0
    assert math.isnan(report.middle([]))


def test_count_rows_list_totals_services_and_the_costliest_operations() -> None:
    before = report.summarise_counts(
        {key("s", "lambda", "Invoke"): 8.0, key("f", "dynamodb", "GetItem"): 5.0}, 12.0, 1.0
    )
    after = report.summarise_counts({key("s", "lambda", "Invoke"): 4.0}, 6.0, 1.0)

    rows = {row.measure: (row.before, row.after) for row in report.count_rows(before, after)}

    assert rows["gateway requests per order"] == (13.0, 4.0)
    assert rows["Lambda invocations per order"] == (8.0, 4.0)
    assert rows["Step Functions state transitions per order"] == (12.0, 6.0)
    assert rows["- dynamodb"] == (5.0, 0.0)
    assert rows["- - dynamodb GetItem"] == (5.0, 0.0)


RAW_PROFILE = """\
_bootstrap (threading.py:1);run (/site-packages/ls/app.py:1);parse (/site-packages/ls/parser.py:3) 6
_bootstrap (threading.py:1012);run (/v/site-packages/ls/app.py:10);dumps (json/encoder.py:200) 3
_bootstrap (threading.py:1012);poll (/v/site-packages/ls/esm.py:40) 1
not a stack line
"""


def test_profile_tops_count_self_and_inclusive_samples() -> None:
    total, own, under = report.profile_tops(RAW_PROFILE)

    assert total == 10
    assert own[0] == ("parse (ls/parser.py)", 6)
    assert dict(under)["run (ls/app.py)"] == 9
    assert dict(under)["_bootstrap (threading.py)"] == 10


def test_profile_table_shows_shares() -> None:
    text = report.profile_markdown(RAW_PROFILE)

    assert text.startswith("10 samples")
    assert "| `parse (ls/parser.py)` | 60.0% | 60.0% |" in text
    assert report.profile_markdown("") == "(no samples)"
