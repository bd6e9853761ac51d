"""An invocation that counted nothing writes no Powertools warning to the function's log
(functions/shared_kernel/observability.py).

In a fresh interpreter, as an execution environment starts: pytest restores the warning
filters after collecting, so the module's own filter would be gone in-process."""

import os
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"

FLUSH_NOTHING = """
from shared_kernel.observability import metrics
metrics.flush_metrics()  # what log_metrics does at the end of every invocation
"""


def test_an_invocation_with_nothing_to_count_writes_no_warning() -> None:
    environment = {**os.environ, "PYTHONPATH": str(FUNCTIONS), "POWERTOOLS_SERVICE_NAME": "test"}
    ran = subprocess.run(
        [sys.executable, "-c", FLUSH_NOTHING],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""
