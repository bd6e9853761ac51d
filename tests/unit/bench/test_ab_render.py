"""bench/ab.py: the report it prints at the end of a run, from measurements made up here."""

from __future__ import annotations

import math
from pathlib import Path

from bench import ab_report as report
from bench.ab import Measured, Side, _pins, parse_args, render


def orders_run(cpu_all: float, sustained: float, violations: int = 0) -> report.OrdersRun:
    return report.OrdersRun(
        products_p50=30.0,
        terminal_p50=8000.0,
        terminal_p95=9000.0,
        offered=90,
        settled=90,
        sustained=sustained,
        cpu_per_order={
            "LocalStack": 400.0,
            "Lambda": 130.0,
            "DynamoDB Local": 100.0,
            "all": cpu_all,
        },
        cores_busy=0.6,
        violations=violations,
    )


def measured(cpu_all: float, sustained: float, idle: float, follow_ms: float) -> Measured:
    result = Measured(
        cpu=[orders_run(cpu_all, 2.0), orders_run(cpu_all + 20, 2.0)],
        saturation=[orders_run(cpu_all, sustained)],
        idle_cores=[idle],
        follow=[
            {
                "products_ms": [30.0, 34.0, 38.0],
                "confirmed_ms": {"poll": [follow_ms], "long poll": [follow_ms / 2]},
            }
        ],
        invoke=[report.InvokeRun(floor_p50=4.0, warm_p50=5.0, cold_p50=72.0)],
    )
    result.counts = report.summarise_counts(
        {("service:apigateway", "lambda", "Invoke", ""): 16.0}, transitions=7.0, executions=1.0
    )
    result.idle_requests = {"sqs": 20.0}
    return result


def test_the_report_has_every_measure_with_its_verdict() -> None:
    args = parse_args([])
    before = measured(cpu_all=640.0, sustained=2.2, idle=0.32, follow_ms=1600.0)
    before.follow[0]["confirmed_ms"]["long poll"] = []  # 173cdc4 has no long poll
    after = measured(cpu_all=300.0, sustained=5.0, idle=0.05, follow_ms=400.0)
    side = Side("before", Path("/nowhere"), 4576, "173cdc4")

    text = render(
        before,
        after,
        args=args,
        base=side,
        current=Side("after", Path(__file__).resolve().parents[3], 4571, "HEAD"),
        loads=[("before cpu (40 s)", "1.00 1.00 1.00", "2.00 1.00 1.00")],
        failures=["after invoke: it broke"],
        notes=["after: no X-Ray sampling rule of its own"],
    )

    lines = text.splitlines()
    cpu = next(line for line in lines if line.startswith("| CPU per order, all"))
    assert "| 650 ms | 310 ms | 0.48x | <= 0.5x | yes |" in cpu
    assert any(
        line.startswith("| sustained orders/s") and "| >= 2x | yes |" in line for line in lines
    )
    assert any(
        line.startswith("| idle emulator") and "| <= 0.25x | yes |" in line for line in lines
    )
    follow = next(line for line in lines if "CONFIRMED seen / GET /products" in line)
    assert "| 47.1 x | 11.8 x |" in follow and follow.endswith("| after <= 15 | yes |")
    assert any("long poll: CONFIRMED seen / GET /products" in line for line in lines)
    assert any(line.startswith("| - cold start / API floor | 18.0 x | 18.0 x") for line in lines)
    assert "| Lambda invocations per order | 16.0 | 16.0 | 1.00x |  |  |" in lines
    assert "- after invoke: it broke" in lines
    assert "- after: no X-Ray sampling rule of its own" in lines
    assert "| before cpu (40 s) | 1.00 1.00 1.00 | 2.00 1.00 1.00 |" in lines


def test_a_side_without_a_phase_leaves_its_rows_out() -> None:
    text = render(
        Measured(),
        Measured(),
        args=parse_args([]),
        base=Side("before", Path("/nowhere"), 4576, "173cdc4"),
        current=Side("after", Path(__file__).resolve().parents[3], 4571, "HEAD"),
        loads=[],
    )

    assert "CPU per order" not in text
    assert "Counts per order" not in text


def test_pins_are_read_by_normalised_name(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nBoto3==1.44.8\naws-lambda-powertools[tracer]==3.37.0\nx\n")

    assert _pins(requirements) == {"boto3": "1.44.8", "aws-lambda-powertools": "3.37.0"}
    assert math.isnan(report.ratio(0.0, 1.0))
