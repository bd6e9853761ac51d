"""bench/ab_shim.py: the process tree and CPU readings it restricts a side's CPU meter to."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.ab_shim import cpu_seconds, descendants


def test_a_child_is_among_the_descendants_and_its_cpu_is_read() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert {os.getpid(), child.pid} <= descendants(os.getpid())
        assert os.getpid() not in descendants(child.pid)
        reading = cpu_seconds(child.pid)
        assert reading is not None
        cmdline, seconds = reading
        assert "time.sleep(30)" in cmdline
        assert seconds >= 0
    finally:
        child.kill()
        child.wait()


def test_a_process_gone_reads_as_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()

    assert cpu_seconds(child.pid) is None
