"""Run one side's own benchmark module with its CPU meter restricted to that side's emulator.

``bench/cpu.py`` (the same file at 173cdc4 and since) adds up every process on the machine
whose command line looks like an emulator's: with other emulators running beside it (other
checkouts, other benchmarks), their CPU would be counted too. bench/ab.py runs each side's
``bench.orders`` / ``bench.lambda_invoke`` through this shim, which replaces
``bench.cpu._snapshot`` by the same reading limited to the descendants of the emulator's
process (``.localstack/localstack.pid`` of the side's checkout), then runs the module as
``python -m`` would. Standard library only, and run by path with the side's checkout as the
working directory, so the side's ``bench`` package is the one imported:

    cd <side> && python <current>/bench/ab_shim.py bench.orders --orders 90 --rate 3
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def emulator_pid(root: Path) -> int:
    return int((root / ".localstack" / "localstack.pid").read_text())


def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> tuple[str, float] | None:
    """(command line, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return cmdline, sum(int(value) for value in fields[11:15]) / TICKS


def restrict_cpu_meter(root_pid: int) -> None:
    """Make the side's ``bench.cpu`` see only the emulator's own process tree."""
    from bench import cpu  # the side's module (the working directory is first on sys.path)

    def snapshot(root: int | None = None) -> dict[int, tuple[str, float]]:
        seen: dict[int, tuple[str, float]] = {}
        for pid in descendants(root_pid):
            reading = cpu_seconds(pid)
            group = reading and cpu._group_of(reading[0])
            if reading and group:
                seen[pid] = (group, reading[1])
        return seen

    cpu._snapshot = snapshot


def main(argv: list[str]) -> None:
    module, *arguments = argv
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [os.getcwd(), *(entry for entry in sys.path if entry != here)]
    restrict_cpu_meter(emulator_pid(Path.cwd()))
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
