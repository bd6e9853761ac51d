"""The report of a chaos run: one JSON object (``--json``) and the same as rich tables. ``build``
takes the run's observations (``Run``, which ``chaos.py`` fills); the rest is pure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.table import Table

from orderflow_cli.chaos_invariants import Verdict, percentile
from orderflow_cli.stack import console

if TYPE_CHECKING:
    from orderflow_cli.chaos_experiment import Experiment
    from orderflow_cli.chaos_invariants import OrderState
    from orderflow_cli.chaos_load import Post

PHASES = ("before", "during", "after")


@dataclass
class Run:
    """What one run observed; ``report.build`` makes the report of it."""

    experiment: Experiment
    seed: int
    rate: float
    customer: str
    started_at: str = ""
    template_id: str = ""
    template_source: str = ""  # created | deployed
    experiment_id: str = ""
    fis: dict[str, Any] = field(default_factory=dict)  # GetExperiment's experiment
    faults: dict[str, int] = field(default_factory=dict)  # action name -> injected
    posts: list[Post] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)
    orders: dict[str, OrderState] = field(default_factory=dict)
    breakers_before: dict[str, dict[str, Any]] = field(default_factory=dict)
    breakers_after: dict[str, dict[str, Any]] = field(default_factory=dict)
    reconciler: list[dict[str, Any]] = field(default_factory=list)  # its reports
    settles: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    redrives: list[dict[str, Any]] = field(default_factory=list)
    before_redrive: list[Verdict] = field(default_factory=list)
    after_redrive: list[Verdict] = field(default_factory=list)
    foreign: dict[str, OrderState] = field(default_factory=dict)


_INJECTED = re.compile(r"Faults injected: (\d+)")


def faults_in_reason(reason: str) -> int:
    """The count the FIS offline writes in an action's state reason (``Faults injected: N of
    M``); 0 when it says none (AWS's own FIS does not count Lambda faults there)."""
    match = _INJECTED.search(reason or "")
    return int(match[1]) if match else 0


def latencies(posts: Iterable[Post]) -> dict[str, dict[str, Any]]:
    """POST /orders latency by phase (answered requests only)."""
    by_phase: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for post in posts:
        if post.status and post.phase in by_phase:  # not the warm-up
            by_phase[post.phase].append(post.latency_ms)
    return {
        phase: {
            "n": len(values),
            "p50Ms": _round(percentile(values, 0.5)),
            "p95Ms": _round(percentile(values, 0.95)),
        }
        for phase, values in by_phase.items()
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def outcomes(orders: Mapping[str, Any], placed: Sequence[str]) -> dict[str, int]:
    """``STATUS`` or ``STATUS:reason`` -> orders."""
    counted: Counter[str] = Counter()
    for order_id in placed:
        order = orders.get(order_id)
        if order is None:
            counted["MISSING"] += 1
        else:
            counted[f"{order.status}:{order.reason}" if order.reason else order.status] += 1
    return dict(sorted(counted.items()))


def faults_by_kind(action_ids: Mapping[str, str], faults: Mapping[str, int]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for name, count in faults.items():
        kinds[action_ids.get(name, name)] += count
    return dict(kinds)


def breaker_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per dependency: opens and probes during the run, and its state before and after."""
    changes = {}
    for dependency in sorted(set(before) | set(after)):
        old, new = before.get(dependency, {}), after.get(dependency, {})
        changes[dependency] = {
            "stateBefore": old.get("state", "CLOSED"),
            "stateAfter": new.get("state", "CLOSED"),
            "opened": int(new.get("opens", 0)) - int(old.get("opens", 0)),
            "probes": int(new.get("probes", 0)) - int(old.get("probes", 0)),
        }
    return changes


def reconciler_repairs(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    fixed: Counter[str] = Counter()
    outcomes_seen: Counter[str] = Counter()
    invocations = busy = errors = 0
    for run in reports:
        invocations += 1
        if "error" in run:
            errors += 1
            continue
        if not run.get("acquired", True):
            busy += 1
        for job in run.get("jobs", []):
            fixed[str(job.get("job"))] += int(job.get("fixed", 0))
            for outcome, count in (job.get("outcomes") or {}).items():
                outcomes_seen[f"{job.get('job')}:{outcome}"] += int(count)
    return {
        "invocations": invocations,
        "leaseBusy": busy,
        "errors": errors,
        "fixed": dict(fixed),
        "fixedTotal": sum(fixed.values()),
        "outcomes": dict(outcomes_seen),
    }


def verdicts(found: Sequence[Verdict]) -> list[dict[str, Any]]:
    return [verdict.to_json() for verdict in found]


def build(run: Run) -> dict[str, Any]:
    answered = Counter(str(post.status or "no answer") for post in run.posts)
    rejected = [
        {"status": post.status, "token": post.token, "sku": post.sku, "error": post.error}
        for post in run.posts
        if not post.order_id
    ]
    action_ids = run.experiment.action_ids
    holds = all(v.holds for v in run.after_redrive) and all(
        v.holds for v in run.before_redrive if v.name == "DLQs listed"
    )
    return {
        "experiment": {
            "file": run.experiment.name,
            "description": run.experiment.template.get("description", ""),
            "templateId": run.template_id,
            "template": run.template_source,
            "experimentId": run.experiment_id,
            "status": run.fis.get("state", {}).get("status"),
            "durationS": run.experiment.duration_s,
            "seed": run.seed,
            "actions": action_ids,
        },
        "orders": {
            "offered": len(run.posts),
            "rate": run.rate,
            "customerId": run.customer,
            "answers": dict(answered),
            "rejected": rejected[:20],
            "placed": list(run.placed),
            "othersMeanwhile": sorted(run.foreign),
        },
        "faults": {
            "injected": sum(run.faults.values()),
            "byKind": faults_by_kind(action_ids, run.faults),
            "byAction": dict(run.faults),
        },
        "outcomes": outcomes(run.orders, run.placed),
        "latency": latencies(run.posts),
        "breakers": breaker_changes(run.breakers_before, run.breakers_after),
        "reconciler": reconciler_repairs(run.reconciler),
        "retries": None,  # not read: Step Functions' histories cost one call per order
        "settle": run.settles,
        "deadLetters": [
            {
                "queue": q["logicalId"],
                "depth": q["depth"],
                "messages": [
                    {"messageId": m["messageId"], "about": m["about"], "reason": m["reason"]}
                    for m in q["messages"]
                ],
            }
            for q in run.dead_letters
            if q["depth"] or q["inFlight"]
        ],
        "redrive": run.redrives,
        "invariants": {
            "beforeRedrive": verdicts(run.before_redrive),
            "afterRedrive": verdicts(run.after_redrive),
        },
        "holds": holds,
    }


def summary_row(built: Mapping[str, Any]) -> dict[str, str]:
    """One line of ``make chaos``'s table."""
    latency = built["latency"]
    invariants = built["invariants"]["afterRedrive"]
    return {
        "experiment": built["experiment"]["file"],
        "faults": _kinds(built["faults"]["byKind"]),
        "orders": str(len(built["orders"]["placed"])),
        "outcomes": ", ".join(f"{k} {v}" for k, v in built["outcomes"].items()),
        "invariants": f"{sum(v['holds'] for v in invariants)}/{len(invariants)} hold"
        + "".join(f"; {v['name']}: {v['violations']}" for v in invariants if not v["holds"]),
        "dlq": str(sum(q["depth"] for q in built["deadLetters"])),
        "p50/p95 before": _latency(latency["before"]),
        "p50/p95 during": _latency(latency["during"]),
    }


def _kinds(kinds: Mapping[str, int]) -> str:
    return ", ".join(f"{kind.split(':', 1)[-1]} {count}" for kind, count in kinds.items()) or "0"


def _latency(phase: Mapping[str, Any]) -> str:
    if not phase["n"]:
        return "-"
    return f"{phase['p50Ms']:.0f}/{phase['p95Ms']:.0f} ms"


def summary_table(rows: Sequence[Mapping[str, str]], title: str) -> Table:
    table = Table(title=title)
    for column in rows[0] if rows else ():
        table.add_column(column)
    for row in rows:
        table.add_row(*row.values())
    return table


def show(built: Mapping[str, Any]) -> None:
    out = console()
    experiment = built["experiment"]
    out.print(
        f"[bold]{experiment['file']}[/] ({experiment['description']}): experiment "
        f"{experiment['experimentId']} of template {experiment['templateId']} "
        f"({experiment['template']}), {experiment['status']}, seed {experiment['seed']}"
    )
    faults = Table(title=f"Faults injected: {built['faults']['injected']}")
    faults.add_column("action")
    faults.add_column("kind")
    faults.add_column("injected", justify="right")
    for name, count in built["faults"]["byAction"].items():
        faults.add_row(name, experiment["actions"].get(name, ""), str(count))
    out.print(faults)

    orders = built["orders"]
    outcome = Table(
        title=f"Orders: {orders['offered']} offered at {orders['rate']:g}/s, "
        f"{len(orders['placed'])} placed (answers: "
        + ", ".join(f"{k} {v}" for k, v in orders["answers"].items())
        + ")"
    )
    outcome.add_column("outcome")
    outcome.add_column("orders", justify="right")
    for name, count in built["outcomes"].items():
        outcome.add_row(name, str(count))
    out.print(outcome)

    latency = Table(title="POST /orders latency")
    for column in ("phase", "requests", "p50 ms", "p95 ms"):
        latency.add_column(column)
    for phase, values in built["latency"].items():
        latency.add_row(phase, str(values["n"]), str(values["p50Ms"]), str(values["p95Ms"]))
    out.print(latency)

    for label, key in (("before redrive", "beforeRedrive"), ("after redrive", "afterRedrive")):
        table = Table(title=f"Invariants, {label}")
        for column in ("invariant", "checked", "violations", "", "examples"):
            table.add_column(column)
        for v in built["invariants"][key]:
            table.add_row(
                v["rule"],
                str(v["checked"]),
                str(v["violations"]),
                "[green]holds[/]" if v["holds"] else "[red]FAILS[/]",
                "; ".join(v["examples"][:3]),
            )
        out.print(table)

    _show_dead_letters(built)
    _show_repairs(built)


def _show_dead_letters(built: Mapping[str, Any]) -> None:
    out = console()
    if built["deadLetters"]:
        dlq = Table(title="Dead letters (before redrive)")
        for column in ("queue", "message", "about", "why it failed"):
            dlq.add_column(column)
        for queue in built["deadLetters"]:
            for message in queue["messages"]:
                reason = message["reason"]
                dlq.add_row(
                    queue["queue"],
                    message["messageId"],
                    message["about"],
                    f"{reason['kind']}: {reason['summary']}",
                )
        out.print(dlq)
    for result in built["redrive"]:
        out.print(
            f"redrive {result['queue']}: {result['status']}, moved {result.get('moved', 0)}"
            + (f" ({result['note']})" if result.get("note") else "")
        )


def _show_repairs(built: Mapping[str, Any]) -> None:
    out = console()
    reconciler = built["reconciler"]
    out.print(
        f"reconciler: {reconciler['invocations']} invocations, {reconciler['fixedTotal']} repairs "
        f"{reconciler['fixed']}; breakers: "
        + (
            "; ".join(
                f"{name} {b['stateBefore']}->{b['stateAfter']}, opened {b['opened']}, "
                f"probes {b['probes']}"
                for name, b in built["breakers"].items()
            )
            or "none"
        )
    )
    for step in built["settle"]:
        out.print(
            f"settle ({step['phase']}): {step['seconds']} s, {step['rounds']} rounds"
            + ("" if step["settled"] else f", [red]not settled[/]: {step['unsettled']}")
        )
    out.print(
        "[bold green]every invariant holds[/]"
        if built["holds"]
        else "[bold red]invariants violated[/]"
    )
