"""Small statistics helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "min": min(samples),
    }


def table(rows: list[tuple[str, dict[str, float]]], unit: str = "ms") -> str:
    """A Markdown table, so the output can be pasted into docs/benchmarks.md as is."""
    lines = [
        f"| measurement | n | p50 ({unit}) | p95 ({unit}) | min ({unit}) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['n']:.0f} | {s['p50']:.2f} | {s['p95']:.2f} | {s['min']:.2f} |"
        )
    return "\n".join(lines)
