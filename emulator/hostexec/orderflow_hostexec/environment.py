"""One execution environment: a child interpreter running ``bootstrap.py``, and its pipes.

Independent of LocalStack, so it can be exercised on its own. The parent side of the protocol
described in ``bootstrap``: a request frame goes down one pipe, the response frame comes back on
another, and the function's stdout/stderr arrive on a third, drained while we wait so that a
chatty function never blocks on a full pipe. A function that outlives its deadline is killed
with its whole process group; the next invocation starts a fresh process (a new init), as
Lambda resets a sandbox after a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_READ_SIZE = 1 << 16


@dataclass
class Outcome:
    """What one invocation produced."""

    ok: bool
    body: bytes
    output: str
    duration_ms: float
    max_rss_mb: int = 0
    crashed: bool = False  # the process is gone (timeout or exit); the next invoke re-inits
    timed_out: bool = False


class StartupError(Exception):
    """The runtime process exited or hung before it reported ready."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


class RuntimeProcess:
    """A started runtime: ``invoke`` one request at a time, ``kill`` to end it."""

    def __init__(self, python: str, env: dict[str, str], cwd: str) -> None:
        self._python = python
        self._env = env
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self.init_output = ""
        self.init_ms = 0.0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float) -> None:
        """Spawn the interpreter and block until the handler is loaded."""
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        self._log_r, log_w = os.pipe()
        env = dict(self._env, _HOSTEXEC_REQUEST_FD=str(req_r), _HOSTEXEC_RESPONSE_FD=str(resp_w))
        started = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                [self._python, "-u", str(BOOTSTRAP)],
                env=env,
                cwd=self._cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(req_r, resp_w),
                start_new_session=True,  # its own process group, killed as one
            )
        finally:
            for fd in (req_r, resp_w, log_w):
                os.close(fd)
        os.set_blocking(self._log_r, False)
        os.set_blocking(self._resp_r, False)
        frame, output, _ = self._await_frame(time.monotonic() + timeout_s)
        if frame is None:
            self.kill()
            raise StartupError("runtime exited or timed out during init", output)
        self.init_output = output
        self.init_ms = (time.perf_counter() - started) * 1000

    def invoke(self, request: dict[str, object], timeout_s: float) -> Outcome:
        started = time.perf_counter()
        os.write(self._req_w, json.dumps(request).encode() + b"\n")
        frame, output, timed_out = self._await_frame(time.monotonic() + timeout_s)
        duration_ms = (time.perf_counter() - started) * 1000
        if frame is None:
            self.kill()
            return Outcome(False, b"", output, duration_ms, crashed=True, timed_out=timed_out)
        return Outcome(
            ok=frame["ok"],
            body=frame["body"].encode(),
            output=output,
            duration_ms=duration_ms,
            max_rss_mb=frame.get("max_rss_mb", 0),
        )

    def exit_status(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        for fd in (self._req_w, self._resp_r, self._log_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._proc = None

    def _await_frame(self, deadline: float) -> tuple[dict | None, str, bool]:
        """Read the next response frame, draining the log pipe meanwhile.

        Returns (frame, output, timed_out); frame is None if the process died or the deadline
        passed. The child flushes its output before it writes a frame, so once the frame is in,
        a last non-blocking read collects everything it printed.
        """
        frame_bytes = bytearray()
        output = bytearray()
        watched = [self._resp_r, self._log_r]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, _text(output), True
            ready, _, _ = select.select(watched, [], [], remaining)
            if self._log_r in ready:
                chunk = _read_available(self._log_r)
                if not chunk:  # the function closed its stdout/stderr: stop watching it
                    watched.remove(self._log_r)
                output += chunk
            if self._resp_r in ready:
                chunk = _read_available(self._resp_r)
                if not chunk:  # EOF: the runtime exited
                    output += _read_available(self._log_r)
                    return None, _text(output), False
                frame_bytes += chunk
                if frame_bytes.endswith(b"\n"):
                    output += _read_available(self._log_r)
                    return json.loads(frame_bytes), _text(output), False


def _read_available(fd: int) -> bytes:
    data = bytearray()
    while True:
        try:
            chunk = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def _text(data: bytearray) -> str:
    return data.decode("utf-8", errors="replace")
