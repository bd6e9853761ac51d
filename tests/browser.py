"""Open a page in headless Chromium (Debian's ``chromium`` package) the way a person would.

``make browser`` installs it (the ``unit`` and ``integration`` tiers depend on that target), so
a test that needs a browser never skips: a missing browser is a setup error, said as such.

Flags: headless, no sandbox (CI runs as root), and none of Chromium's background networking,
which this machine's closed network refuses. Each call gets a fresh profile directory.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Rendered:
    dom: str
    """The document after its scripts ran (``--dump-dom``)."""
    screenshot: Path
    """A PNG of the page as Chromium drew it."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Chromium is not installed: run `make browser` (Debian's chromium)")
    return found


def _run(*args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=True,
        )
    return done.stdout


def render(page: Path, screenshot: Path, *, width: int = 1280, height: int = 900) -> Rendered:
    """Load ``page`` (a local file), return its DOM after scripts ran, and write a screenshot."""
    url = page.resolve().as_uri()
    dom = _run("--virtual-time-budget=5000", "--dump-dom", url)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    _run(f"--window-size={width},{height}", f"--screenshot={screenshot}", url)
    if not screenshot.is_file() or screenshot.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot of {page}")
    return Rendered(dom=dom, screenshot=screenshot)
