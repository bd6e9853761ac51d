"""CPU used by the emulator's processes during a benchmark, read from /proc (Linux).

The embedded emulator is several processes on the same machine as the benchmark: LocalStack
(one Python process: the gateway, Step Functions, SQS, EventBridge, the event-source pollers),
DynamoDB Local (Java), and the Lambda execution environments with their fork servers. Where a
run's CPU goes is what decides how far it can scale on two cores, so the order benchmark
reports it next to the latencies.

Several emulators may run on one machine (one per checkout): when this checkout's emulator is
running (``.localstack/localstack.pid``, written by ``emulator/ctl.py``), only its process tree
is counted.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

DYNAMODB_LOCAL = "DynamoDB Local (Java)"
GROUPS = {
    "Lambda runtimes": ("orderflow_hostexec/bootstrap.py",),
    DYNAMODB_LOCAL: ("DynamoDBLocal",),
    "LocalStack": ("localstack",),
}
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PID_FILE = Path(__file__).resolve().parent.parent / ".localstack" / "localstack.pid"


def _group_of(cmdline: str) -> str | None:
    for group, markers in GROUPS.items():
        if any(marker in cmdline for marker in markers):
            return group
    return None


def _our_emulator() -> int | None:
    """The pid of this checkout's emulator, if it runs."""
    try:
        pid = int(PID_FILE.read_text())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _snapshot(root: int | None = None) -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds of the process and of its children it has reaped).

    The processes under ``root`` (default: this checkout's emulator, when it runs), grouped by
    GROUPS where a marker matches, else as the emulator's own process (the root) or its worker
    processes (MiniStack's Lambda workers); with neither, every emulator-looking process on the
    machine."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    root = root or _our_emulator()
    if root is not None and root not in stats:
        raise RuntimeError(f"process {root} is not running")
    pids = tree_of(root, {pid: parent for pid, (parent, _) in stats.items()}) if root else stats
    seen: dict[int, tuple[str, float]] = {}
    for pid in pids:
        try:
            cmdline = (
                Path(f"/proc/{pid}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
        except OSError:
            continue
        group = _group_of(cmdline)
        if root is not None and group is None:
            group = ROOT_GROUP if pid == root else WORKERS_GROUP
        if group is not None:
            seen[pid] = (group, stats[pid][1])
    return seen


def processes_of(root: int) -> dict[int, str]:
    """The processes under ``root`` (an emulator's pid), each with its group (``GROUPS``, or
    the emulator's own / its workers)."""
    return {pid: group for pid, (group, _) in _snapshot(root).items()}


@dataclass
class CpuMeter:
    """``start()`` before the run, ``stop()`` after: CPU seconds per group in between, of the
    process tree under ``root_pid`` (default: as ``_snapshot``)."""

    root_pid: int | None = None
    _before: dict[int, tuple[str, float]] | None = None
    _started: float = 0.0
    wall_s: float = 0.0

    def start(self) -> None:
        self._before = _snapshot(self.root_pid)
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        assert self._before is not None, "start() first"
        after = _snapshot(self.root_pid)
        self.wall_s = time.monotonic() - self._started
        return {**dict.fromkeys(GROUPS, 0.0), **tree_used(self._before, after)}


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


# --- one emulator's process tree ----------------------------------------------------------
# Several emulators may run on one machine (orderflow's on other ports, MiniStack): a meter
# with a root counts only the processes under it, so another emulator's CPU is never counted.
ROOT_GROUP = "emulator process"
WORKERS_GROUP = "worker processes"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of the children it reaped) or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / _TICKS


def tree_of(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every process below it, from a {pid: parent pid} map."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per group between two snapshots of a tree. A process that ended meanwhile is
    counted through its parent's reaped-children time, which includes what it had used before
    the first snapshot: that part is taken off again."""
    used: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        used[group] = used.get(group, 0.0) + seconds - before.get(pid, (group, 0.0))[1]
    for pid, (group, seconds) in before.items():
        if pid not in after:
            used[group] = used.get(group, 0.0) - seconds
    return used
