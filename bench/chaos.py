"""Every chaos experiment shipped in ``chaos/`` on the embedded emulator (``make chaos``), one
after the other, through ``orderflow chaos run``'s own code; one table of them all.

Before each experiment the catalogue's stock is set back to ``data/products.json`` (the seed
function with ``Overwrite``, on a settled system), so every experiment starts from the same
stock however many units the earlier ones sold. Each experiment's full report (the ``--json``
object) is written to ``bench/results/chaos/<experiment>.json``; the table is printed as rich
text and as Markdown (``bench/results/chaos/summary.md``, for docs/chaos.md).

    make chaos                                  # 200 orders at 2/s each, as the issue says
    CHAOS_ORDERS=40 CHAOS_RATE=4 make chaos     # a quicker pass
    CHAOS_EXPERIMENTS=payment-errors,projector-errors make chaos

Exit status 1 if any experiment broke an invariant or could not run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from emulator.clients import client
from orderflow_cli.chaos import execute
from orderflow_cli.chaos_experiment import load
from orderflow_cli.chaos_report import build, summary_row, summary_table
from orderflow_cli.stack import StackRef, console

ROOT = Path(__file__).resolve().parent.parent
CHAOS = ROOT / "chaos"
RESULTS = ROOT / "bench" / "results" / "chaos"
PRODUCTS = ROOT / "data" / "products.json"


def restock(stack: StackRef) -> None:
    """Stock as data/products.json says (the seed's Update with Overwrite)."""
    products = [
        {key: str(value) for key, value in product.items()}
        for product in json.loads(PRODUCTS.read_text())
    ]
    request = {
        "RequestType": "Update",
        "PhysicalResourceId": "products-seed-chaos",
        "ResourceProperties": {"Products": products, "Overwrite": "true"},
    }
    answer = client("lambda").invoke(
        FunctionName=stack.output("SeedProductsFunctionName"), Payload=json.dumps(request)
    )
    if "FunctionError" in answer:
        raise RuntimeError(f"restocking failed: {answer['Payload'].read()!r}")


def markdown(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def failed_row(name: str, why: str) -> dict[str, str]:
    return {
        "experiment": name,
        "faults": "-",
        "orders": "0",
        "outcomes": "-",
        "invariants": f"not run: {why}",
        "dlq": "-",
        "p50/p95 before": "-",
        "p50/p95 during": "-",
    }


def run_one(
    stack: StackRef, path: Path, *, orders: int, rate: float, seed: int, settle: float
) -> Any:
    experiment = load(path)
    restock(stack)
    try:
        run = execute(stack, experiment, orders=orders, rate=rate, seed=seed, settle_s=settle)
    except typer.Exit as stopped:  # fail(): the message is on stderr already
        return failed_row(experiment.name, f"exit {stopped.exit_code} (see above)"), None
    built = build(run)
    (RESULTS / f"{experiment.name}.json").write_text(json.dumps(built, indent=2, default=str))
    return summary_row(built), built


def main() -> None:
    orders = int(os.environ.get("CHAOS_ORDERS", "200"))
    rate = float(os.environ.get("CHAOS_RATE", "2"))
    seed = int(os.environ.get("CHAOS_SEED", "7"))
    settle = float(os.environ.get("CHAOS_SETTLE", "600"))
    wanted = [name for name in os.environ.get("CHAOS_EXPERIMENTS", "").split(",") if name]
    paths = sorted(CHAOS.glob("*.json"))
    if wanted:
        paths = [CHAOS / f"{name}.json" for name in wanted]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stack = StackRef(ROOT / "outputs.json", "Orderflow")
    rows, ok = [], True
    for path in paths:
        started = time.monotonic()
        console().print(f"[bold]{path.stem}[/]: {orders} orders at {rate:g}/s, seed {seed}")
        row, built = run_one(stack, path, orders=orders, rate=rate, seed=seed, settle=settle)
        ok = ok and built is not None and built["holds"]
        row["seconds"] = f"{time.monotonic() - started:.0f}"
        rows.append(row)
        console().print(f"{row['experiment']}: {row['invariants']} ({row['seconds']} s)")
    wide = Console(width=max(160, console().width))  # the table's columns are wide
    wide.print(summary_table(rows, f"chaos: {orders} orders at {rate:g}/s per experiment"))
    (RESULTS / "summary.md").write_text(markdown(rows))
    print(markdown(rows))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
