"""CPU used by the emulator's processes during a benchmark, read from /proc (Linux).

The embedded emulator is several processes on the same machine as the benchmark: LocalStack
(one Python process: the gateway, Step Functions, SQS, EventBridge, the event-source pollers),
DynamoDB Local (Java), and the Lambda execution environments with their fork servers. Where a
run's CPU goes is what decides how far it can scale on two cores, so the order benchmark
reports it next to the latencies.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

GROUPS = {
    "Lambda runtimes": ("orderflow_hostexec/bootstrap.py",),
    "DynamoDB Local (Java)": ("DynamoDBLocal",),
    "LocalStack": ("localstack",),
}
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# This checkout's emulator only: its processes name its virtualenvs or its state directory
# (several checkouts may each run an emulator on the same machine)
_ROOT = Path(__file__).resolve().parent.parent
SCOPE = (f"{_ROOT}/.venvs/", f"{_ROOT}/.localstack/")


def _group_of(cmdline: str) -> str | None:
    if not any(marker in cmdline for marker in SCOPE):
        return None
    for group, markers in GROUPS.items():
        if any(marker in cmdline for marker in markers):
            return group
    return None


def _snapshot() -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds of the process and of its children it has reaped)."""
    seen: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        group = _group_of(cmdline)
        if group is None:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        seen[int(entry.name)] = (group, (utime + stime + cutime + cstime) / _TICKS)
    return seen


@dataclass
class CpuMeter:
    """``start()`` before the run, ``stop()`` after: CPU seconds per group in between."""

    _before: dict[int, tuple[str, float]] | None = None
    _started: float = 0.0
    wall_s: float = 0.0

    def start(self) -> None:
        self._before = _snapshot()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        assert self._before is not None, "start() first"
        after = _snapshot()
        self.wall_s = time.monotonic() - self._started
        used = dict.fromkeys(GROUPS, 0.0)
        for pid, (group, seconds) in after.items():
            used[group] += seconds - self._before.get(pid, (group, 0.0))[1]
        return used


def cpu_table(used: dict[str, float], wall_s: float, orders: int) -> str:
    """A Markdown table: CPU seconds, share of one core and milliseconds per order."""
    lines = [
        "| process | CPU (s) | cores busy | CPU per order (ms) |",
        "|---|---:|---:|---:|",
    ]
    for group, seconds in [*used.items(), ("all of the emulator", sum(used.values()))]:
        lines.append(
            f"| {group} | {seconds:.1f} | {seconds / wall_s:.2f} | {seconds * 1000 / orders:.0f} |"
        )
    return "\n".join(lines)
