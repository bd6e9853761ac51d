"""The pure parts of the A/B benchmark (bench/ab.py): reading each side's benchmark output,
combining rounds, ratios against the targets, per-order counts, and the Markdown tables.

No I/O here: tests/unit/bench/test_ab_report.py tests it on fixed text and numbers.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

BASE, CURRENT = "before", "after"

# --- each side's own benchmark output -----------------------------------------------------

_ROW = re.compile(r"^\|\s*(?P<name>[^|]+?)\s*\|(?P<cells>.*)\|\s*$")
_SUSTAINED = re.compile(
    r"offered: (?P<offered>\d+) orders at (?P<rate>[\d.]+)/s; settled: (?P<settled>\d+) in "
    r"(?P<span>[\d.]+) s from the first POST -> sustained (?P<sustained>[\d.]+|inf|nan) orders/s"
)
_VIOLATIONS = re.compile(r"^invariant violations: (\d+)$", re.MULTILINE)
CPU_GROUPS = {
    "LocalStack": "LocalStack",
    "Lambda runtimes": "Lambda",
    "DynamoDB Local (Java)": "DynamoDB Local",
    "all of the emulator": "all",
}


class OutputNotUnderstood(ValueError):
    """A side's benchmark printed something this module cannot read."""


def markdown_rows(text: str) -> dict[str, list[str]]:
    """Every Markdown table row of ``text`` by its first cell (header and rule rows too)."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        if match := _ROW.match(line.strip()):
            rows[match["name"]] = [cell.strip() for cell in match["cells"].split("|")]
    return rows


def _number(rows: Mapping[str, list[str]], name: str, column: int) -> float:
    try:
        return float(rows[name][column])
    except (KeyError, IndexError, ValueError) as error:
        raise OutputNotUnderstood(f"no number in column {column} of row {name!r}") from error


@dataclass(frozen=True)
class OrdersRun:
    """What ``bench.orders`` printed: latencies (ms), throughput, CPU per order (ms) by group."""

    products_p50: float
    terminal_p50: float
    terminal_p95: float
    offered: int
    settled: int
    sustained: float
    cpu_per_order: dict[str, float]
    cores_busy: float
    violations: int


def parse_orders(text: str) -> OrdersRun:
    rows = markdown_rows(text)
    sustained = _SUSTAINED.search(text)
    violations = _VIOLATIONS.search(text)
    if sustained is None or violations is None:
        raise OutputNotUnderstood("bench.orders printed no 'offered: ...' or violations line")
    return OrdersRun(
        products_p50=_number(rows, "GET /products (baseline)", 1),
        terminal_p50=_number(rows, "POST /orders -> terminal status", 1),
        terminal_p95=_number(rows, "POST /orders -> terminal status", 2),
        offered=int(sustained["offered"]),
        settled=int(sustained["settled"]),
        sustained=float(sustained["sustained"]),
        cpu_per_order={short: _number(rows, group, 2) for group, short in CPU_GROUPS.items()},
        cores_busy=_number(rows, "all of the emulator", 1),
        violations=int(violations[1]),
    )


@dataclass(frozen=True)
class InvokeRun:
    """What ``bench.lambda_invoke`` printed (p50s in ms)."""

    floor_p50: float
    warm_p50: float
    cold_p50: float


def parse_invoke(text: str) -> InvokeRun:
    rows = markdown_rows(text)
    return InvokeRun(
        floor_p50=_number(rows, "emulator API floor: lambda.list_functions (baseline)", 1),
        warm_p50=_number(rows, "warm invoke, end to end", 1),
        cold_p50=_number(rows, "cold start (first invoke, new environment)", 1),
    )


# --- gateway counts ------------------------------------------------------------------------

Key = tuple[str, str, str, str]  # caller, service, operation, detail (bench/probe counting.py)


# LocalStack's alarm scheduler: every alarm evaluated once per period (60 s), all in one burst,
# whatever the orders; a short idle window may miss the burst, so they are not counted per order.
TIME_DRIVEN = {
    ("cloudwatch", "DescribeAlarms"),
    ("cloudwatch", "GetMetricData"),
    ("cloudwatch", "GetMetricStatistics"),
}


def order_counts(
    run: Mapping[Key, int], run_s: float, idle: Mapping[Key, int], idle_s: float, orders: int
) -> dict[Key, float]:
    """Requests per order: the run's counts less what the same keys cost idle over as long
    (pollers, samplers), without empty polls and alarm evaluations (they depend on time, not
    on orders) and without the benchmark's own bookkeeping requests (caller ``bench``)."""
    per_order: dict[Key, float] = {}
    for key, count in run.items():
        caller, service, operation, detail = key
        if caller == "bench" or detail == "empty" or (service, operation) in TIME_DRIVEN:
            continue
        background = idle.get(key, 0) / idle_s * run_s if idle_s > 0 else 0.0
        if (value := max(0.0, count - background) / orders) > 0:
            per_order[key] = value
    return per_order


def idle_rates(idle: Mapping[Key, int], idle_s: float) -> dict[str, float]:
    """Requests per second of an idle emulator, by service (empty polls included)."""
    rates: dict[str, float] = {}
    for (caller, service, _, _), count in idle.items():
        if caller != "bench":
            rates[service] = rates.get(service, 0.0) + count / idle_s
    return rates


@dataclass(frozen=True)
class CountSummary:
    """The machine-independent counts of one side, per order."""

    gateway: float
    by_service: dict[str, float]
    lambda_invocations: float
    dynamodb: float
    transitions: float
    executions: float
    by_operation: dict[str, float] = field(default_factory=dict)


def summarise_counts(
    per_order: Mapping[Key, float], transitions: float, executions: float
) -> CountSummary:
    by_service: dict[str, float] = {}
    by_operation: dict[str, float] = {}
    for (_, service, operation, detail), value in per_order.items():
        by_service[service] = by_service.get(service, 0.0) + value
        name = f"{service} {operation}" + (f" ({detail})" if detail else "")
        by_operation[name] = by_operation.get(name, 0.0) + value
    return CountSummary(
        gateway=sum(per_order.values()),
        by_service=by_service,
        # answered invokes only: a throttled one (TooManyRequestsException) ran nothing
        lambda_invocations=by_operation.get("lambda Invoke", 0.0),
        dynamodb=by_service.get("dynamodb", 0.0),
        transitions=transitions,
        executions=executions,
        by_operation=by_operation,
    )


# --- combining rounds, ratios, targets -----------------------------------------------------


def middle(values: Iterable[float]) -> float:
    """The median of the rounds' values (NaN when there are none)."""
    found = [v for v in values if not math.isnan(v)]
    return statistics.median(found) if found else float("nan")


def ratio(before: float, after: float) -> float:
    if before == 0 or math.isnan(before) or math.isnan(after):
        return float("nan")
    return after / before


@dataclass(frozen=True)
class Target:
    """``after / before <= bound`` (kind ``ratio<=``), ``>= bound`` (``ratio>=``), or the
    after side's own value ``<= bound`` (``after<=``: a ratio within one side, e.g. latency
    over the API floor)."""

    kind: str
    bound: float

    def met(self, before: float, after: float) -> bool | None:
        value = after if self.kind == "after<=" else ratio(before, after)
        if math.isnan(value):
            return None
        if self.kind == "ratio>=":
            return value >= self.bound
        return value <= self.bound

    def __str__(self) -> str:
        if self.kind == "after<=":
            return f"after <= {self.bound:g}"
        return f"{'<=' if self.kind == 'ratio<=' else '>='} {self.bound:g}x"


@dataclass(frozen=True)
class Row:
    measure: str
    before: float
    after: float
    unit: str = ""
    target: Target | None = None
    digits: int = 1


def _fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def markdown(rows: Sequence[Row], *, before: str = BASE, after: str = CURRENT) -> str:
    lines = [
        f"| measure | {before} | {after} | after / before | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        unit = f" {row.unit}" if row.unit else ""
        met = row.target.met(row.before, row.after) if row.target else None
        lines.append(
            f"| {row.measure} | {_fmt(row.before, row.digits)}{unit} "
            f"| {_fmt(row.after, row.digits)}{unit} | {_times(ratio(row.before, row.after))} "
            f"| {row.target or ''} | {'' if met is None else ('yes' if met else 'NO')} |"
        )
    return "\n".join(lines)


def count_rows(before: CountSummary, after: CountSummary, top: int = 12) -> list[Row]:
    """Per-order counts, before and after: the totals, then each service, then the
    operations that cost the most on either side."""
    rows = [
        Row("gateway requests per order", before.gateway, after.gateway),
        Row("Lambda invocations per order", before.lambda_invocations, after.lambda_invocations),
        Row("DynamoDB requests per order", before.dynamodb, after.dynamodb),
        Row("Step Functions state transitions per order", before.transitions, after.transitions),
        Row("Step Functions executions per order", before.executions, after.executions),
    ]
    for service in sorted(set(before.by_service) | set(after.by_service)):
        rows.append(
            Row(
                f"- {service}",
                before.by_service.get(service, 0.0),
                after.by_service.get(service, 0.0),
            )
        )
    operations = set(before.by_operation) | set(after.by_operation)
    biggest = sorted(
        operations,
        key=lambda op: -max(before.by_operation.get(op, 0.0), after.by_operation.get(op, 0.0)),
    )[:top]
    for operation in biggest:
        rows.append(
            Row(
                f"- - {operation}",
                before.by_operation.get(operation, 0.0),
                after.by_operation.get(operation, 0.0),
                digits=2,
            )
        )
    return rows


# --- a py-spy profile ----------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """``function (package/module.py)`` from py-spy's ``function (path/to/module.py:line)``,
    the path shortened to what follows ``site-packages/``."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"].split("site-packages/")[-1]
    return f"{match['function']} ({path})"


def profile_tops(
    raw: str, top: int = 15
) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """From py-spy's raw (collapsed) output: the samples, and the ``top`` frames by samples
    spent in them (self) and under them (inclusive, each frame counted once per stack)."""
    total = 0
    own: dict[str, int] = {}
    under: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + samples
        for frame in set(frames):
            under[frame] = under.get(frame, 0) + samples

    def best(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]

    return total, best(own), best(under)


def profile_markdown(raw: str, top: int = 15) -> str:
    total, own, under = profile_tops(raw, top)
    if not total:
        return "(no samples)"
    lines = ["| frame | self | inclusive |", "|---|---:|---:|"]
    under_share = dict(under)
    own_share = dict(own)
    for frame in dict.fromkeys([name for name, _ in own] + [name for name, _ in under]):
        lines.append(
            f"| `{frame}` | {own_share.get(frame, 0) / total:.1%} "
            f"| {under_share.get(frame, 0) / total:.1%} |"
        )
    return f"{total} samples\n\n" + "\n".join(lines)
