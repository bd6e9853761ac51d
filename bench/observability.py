"""What tracing costs per order: the order benchmark at three sampling levels, in one run.

On one deployed emulator (warm: a few orders go first, untimed), the stack's sampling rule
(``orderflow-<stage>-all``, see infra/tracing.py) is set in turn to

- **everything**: FixedRate 1.0, as the dev stage deploys it;
- **AWS default**: reservoir 1/s plus FixedRate 0.05, what AWS's ``Default`` rule samples;
- **nothing**: reservoir 0, FixedRate 0 (the baseline: functions still run Powertools Tracer,
  but an unsampled trace records and sends nothing),

and the same plan of orders is offered at the same rate, in rounds whose order alternates
(ABC, CBA, ...) so that a drift of the machine during the run weighs on every level alike; the
rounds of a level are added up. Reported per level: CPU per order of
each emulator process group (``bench/cpu.py``) and its ratio to *nothing* in the same run, the
X-Ray documents the emulator's daemon received per order and the traces recorded (counts that
do not depend on the machine), and the orders' latency. The rule is put back as it was.

    make deploy && .venvs/dev/bin/python -m bench.observability --orders 30 --rounds 2 --rate 2
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bench.orders import Placed, Run, api_floor, outputs, plan_orders, premium_api, run
from bench.stats import summary, table
from emulator.clients import client, endpoint

LEVELS: dict[str, tuple[float, int]] = {
    "everything": (1.0, 1),
    "AWS default": (0.05, 1),
    "nothing": (0.0, 0),
}
"""Sampling level -> (FixedRate, ReservoirSize per second)."""


@dataclass
class Level:
    name: str
    runs: list[Run] = field(default_factory=list)
    documents: int = 0
    traces: int = 0

    @property
    def orders(self) -> int:
        return sum(len(result.placed) for result in self.runs)

    @property
    def cpu(self) -> dict[str, float]:
        return {group: sum(result.cpu[group] for result in self.runs) for group in self.runs[0].cpu}

    @property
    def settled(self) -> list[Placed]:
        return [p for result in self.runs for p in result.settled]

    @property
    def violations(self) -> list[str]:
        return [v for result in self.runs for v in result.violations]


def xray_report() -> dict[str, Any]:
    """The emulator's X-Ray daemon counters (``GET /_orderflow/xray``)."""
    with urllib.request.urlopen(f"{endpoint()}/_orderflow/xray", timeout=10) as answer:
        report: dict[str, Any] = json.load(answer)
    return report


def stack_rule() -> dict[str, Any]:
    """The stack's own sampling rule (the dev stage's ``orderflow-<stage>-all``)."""
    rules = [
        record["SamplingRule"]
        for record in client("xray").get_sampling_rules()["SamplingRuleRecords"]
        if record["SamplingRule"]["RuleName"].startswith("orderflow-")
    ]
    if not rules:
        raise SystemExit(
            "no orderflow-<stage>-all sampling rule: deploy a stage with "
            "tracing.sample_everything on (dev, the default of `make deploy`)"
        )
    return rules[0]


def set_rule(name: str, fixed_rate: float, reservoir: int) -> None:
    client("xray").update_sampling_rule(
        SamplingRuleUpdate={"RuleName": name, "FixedRate": fixed_rate, "ReservoirSize": reservoir}
    )


def measure(level: Level, args: argparse.Namespace, out: dict[str, str], rule: str) -> None:
    """One round of one level: set the rule, run the plan, add what it cost to the level."""
    fixed_rate, reservoir = LEVELS[level.name]
    set_rule(rule, fixed_rate, reservoir)
    before = xray_report()
    plan = plan_orders(args.orders, args.seed)
    level.runs.append(run(premium_api(out), out, plan, args.rate, args.timeout))
    after = xray_report()
    level.documents += after["received"] - before["received"]
    level.traces += after["traces"] - before["traces"] + after["evicted"] - before["evicted"]


def cost_table(levels: list[Level]) -> str:
    nothing = next(level for level in levels if level.name == "nothing")
    baseline = {group: used / nothing.orders for group, used in nothing.cpu.items()}
    groups = list(baseline)
    header = "| sampling | " + " | ".join(f"{g} ms/order (x)" for g in groups)
    header += " | all ms/order (x) | X-Ray documents/order | traces/order |"
    lines = [header, "|---" + "|---:" * (len(groups) + 3) + "|"]
    for level in levels:
        cells, orders = [], level.orders
        for group in [*groups, "all"]:
            used = (sum(level.cpu.values()) if group == "all" else level.cpu[group]) / orders
            base = sum(baseline.values()) if group == "all" else baseline[group]
            ratio = used / base if base else float("nan")
            cells.append(f"{used * 1000:.0f} ({ratio:.2f}x)")
        lines.append(
            f"| {level.name} | "
            + " | ".join(cells)
            + f" | {level.documents / orders:.1f} | {level.traces / orders:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30, help="orders per level and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternating the order")
    parser.add_argument("--rate", type=float, default=2.0, help="orders offered per second")
    parser.add_argument("--warmup", type=int, default=10, help="untimed orders first")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    out = outputs()
    rule = stack_rule()
    floor = api_floor(premium_api(out))
    run(premium_api(out), out, plan_orders(args.warmup, args.seed + 1), args.rate, args.timeout)
    levels = [Level(name) for name in LEVELS]
    try:
        for round_ in range(args.rounds):
            for level in levels if round_ % 2 == 0 else levels[::-1]:
                measure(level, args, out, rule["RuleName"])
    finally:
        set_rule(rule["RuleName"], rule["FixedRate"], rule["ReservoirSize"])

    print(
        f"{args.rounds} rounds of {args.orders} orders per level at {args.rate:g}/s "
        "(the same plan each time), warm emulator\n"
    )
    print(cost_table(levels))
    print()
    rows = [("GET /products (baseline)", summary(floor))]
    rows += [
        (f"POST -> terminal, {level.name}", summary([p.latency_ms for p in level.settled]))
        for level in levels
    ]
    print(table(rows))
    for level in levels:
        unsettled = level.orders - len(level.settled)
        print(
            f"{level.name}: {unsettled} orders not terminal, "
            f"{len(level.violations)} invariant violations"
        )
        for violation in level.violations:
            print(f"  - {violation}")


if __name__ == "__main__":
    main()
