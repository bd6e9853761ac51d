"""One execution environment: a child interpreter running ``bootstrap.py``, and its pipes.

Independent of LocalStack, so it can be exercised on its own. The parent side of the protocol
described in ``bootstrap``: a request frame goes down one pipe, the response frame comes back on
another, and the function's stdout/stderr arrive on a third, drained while we wait so that a
chatty function never blocks on a full pipe. A function that outlives its deadline is killed
with its whole process group; the next invocation starts a fresh process (a new init), as
Lambda resets a sandbox after a timeout.

An environment is either spawned (a new interpreter that imports everything itself) or forked
from a ``ForkServer``: an interpreter with the function's environment that has already
imported the libraries the function's earlier environments loaded. A cold start then costs the
function's own init only, not the ~0.25 s of CPU that importing boto3, pydantic and Powertools
takes; under load, when every concurrent invocation needs a new environment, that is most of
the CPU the functions use (see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    warm: dict[str, list[Any]] = field(default_factory=dict)  # reported by a first invocation
    crashed: bool = False  # the process is gone (timeout or exit); the next invoke re-inits
    timed_out: bool = False
    exit_status: int | None = None  # of a process that exited on its own
    fis: dict[str, list[int]] = field(default_factory=dict)  # SDK faults injected (bootstrap)


class StartupError(Exception):
    """The runtime process exited or hung before it reported ready."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


class _Forker:
    """A process that forks on request, over a Unix ``SOCK_SEQPACKET`` control socket
    (``bootstrap.py --fork-server`` or ``--zygote``): it answers each fork with the child's pid,
    reaps its children and reports their exit statuses, which are kept for ``exit_status``.

    Started as a new interpreter, or forked by a ``Zygote`` (``parent``), which then reaps it.
    """

    _MESSAGE_SIZE = 1 << 20

    def __init__(
        self, python: str, mode: str, env: dict[str, str], cwd: str, parent: Zygote | None = None
    ) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._parent = parent
        if parent is not None:
            self.pid, self._control = parent.spawn(env, cwd)
        else:
            self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self._proc = subprocess.Popen(
                    [python, "-u", str(BOOTSTRAP), mode],
                    env=dict(env, _HOSTEXEC_CONTROL_FD=str(theirs.fileno())),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
            finally:
                theirs.close()
            self.pid = self._proc.pid
        self._fork_lock = threading.Lock()
        self._changed = threading.Condition()
        self._forked: list[int] = []
        self._exits: dict[int, int] = {}
        threading.Thread(target=self._listen, name=f"hostexec{mode}", daemon=True).start()

    @property
    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        assert self._parent is not None
        return self._parent.running(self.pid)

    def _fork(self, message: dict[str, Any], fds: list[int], timeout_s: float) -> int:
        """Send one fork request (with the fds its child takes); the child's pid."""
        with self._fork_lock:
            socket.send_fds(self._control, [json.dumps(message).encode()], fds)
            deadline = time.monotonic() + timeout_s
            with self._changed:
                while not self._forked:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self.alive:
                        raise StartupError("the fork server did not answer", "")
                    self._changed.wait(min(remaining, 0.5))
                return self._forked.pop(0)

    def running(self, pid: int) -> bool:
        """Whether a process it forked still runs."""
        if self.exit_status(pid) is not None:
            return False
        try:  # a forker that died cannot report; its orphans are reaped by init
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def exit_status(self, pid: int, wait_s: float = 0.0) -> int | None:
        """The exit status of a process it forked, once reported (None while running)."""
        deadline = time.monotonic() + wait_s
        with self._changed:
            while pid not in self._exits and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return self._exits.get(pid)

    def close(self) -> None:
        if self.alive:
            # Its process group: the process and what it forked. One forked by a zygote a
            # moment ago may not have made its own group yet (its ``setsid``), and then there
            # is no such group: the process itself is killed too, or it would live on.
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError):
                    kill(self.pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
        self._control.close()

    def _listen(self) -> None:
        while True:
            try:
                message = self._control.recv(self._MESSAGE_SIZE)
            except OSError:
                message = b""
            if not message:  # the process is gone
                with self._changed:
                    self._changed.notify_all()
                return
            frame = json.loads(message)
            with self._changed:
                if frame["op"] == "forked":
                    self._forked.append(frame["pid"])
                elif frame["op"] == "exited":
                    self._exits[frame["pid"]] = frame["status"]
                self._changed.notify_all()


class Zygote(_Forker):
    """A bare interpreter of one runtime (``bootstrap.py --zygote``) that forks fork servers.

    With a fork server started as a new interpreter, a trivial function's first environment was
    ready after ~70 ms (the interpreter's own start, then the runtime's standard-library
    imports); with one forked from here, after ~5 ms (docs/performance/emulator.md). Its child
    is what ``python -u bootstrap.py --fork-server`` with the function's environment and
    directory would be: the variables and directory are set, ``sys.path`` is rebuilt from
    ``PYTHONPATH`` as the interpreter would have built it, and it has imported nothing but the
    runtime's standard-library modules (never boto3: a bundle may ship its own). An
    environment whose variables change how an interpreter starts (``python_startup_variables``)
    gets a fork server of its own instead.
    """

    def __init__(self, python: str, env: dict[str, str]) -> None:
        super().__init__(python, "--zygote", env, "/")

    def spawn(
        self, env: dict[str, str], cwd: str, timeout_s: float = 10
    ) -> tuple[int, socket.socket]:
        """Fork a fork server with this environment and directory: its pid and control socket."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = self._fork({"op": "fork", "env": env, "cwd": cwd}, [theirs.fileno()], timeout_s)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return pid, ours


# What a fork server forked by a zygote does not redo: Python reads these when it starts.
ZYGOTE_VARIABLES = {"PYTHONNOUSERSITE": "1", "LANG": "en_US.UTF-8"}


def python_startup_variables(env: dict[str, str]) -> set[str]:
    """The variables an interpreter reads as it starts whose values in ``env`` differ from the
    zygote's (``ZYGOTE_VARIABLES``); ``PYTHONPATH`` is rebuilt in the child instead."""
    keys = {key for key in env if key.startswith(("PYTHON", "LC_"))} | ZYGOTE_VARIABLES.keys()
    return {key for key in keys - {"PYTHONPATH"} if env.get(key) != ZYGOTE_VARIABLES.get(key)}


class ForkServer(_Forker):
    """A function's fork server (``bootstrap.py --fork-server``) and its control socket.

    ``fork`` asks it for a new execution environment wired to the given pipes; ``preload``
    hands it what an environment reported loading (library modules, boto3 data), so later
    environments start with it loaded. Started as a new interpreter, or forked by a ``Zygote``.

    Only the first environment is forked from a bare server. The others wait until it has
    reported its init's libraries (the first ``preload``): a burst of invocations on a cold
    function would otherwise start a dozen environments that all import the same libraries at
    once, on the same cores, which is what made the emulator saturate (docs/benchmarks.md).
    """

    def __init__(
        self, python: str, env: dict[str, str], cwd: str, zygote: Zygote | None = None
    ) -> None:
        super().__init__(python, "--fork-server", env, cwd, parent=zygote)
        self._preloaded: set[str] = set()
        self._first_forked = False
        self._warm = threading.Event()  # the first environment reported its init's libraries

    def preload(self, warm: dict[str, list[Any]]) -> None:
        """Import these modules and load this boto3 data in the server too (what it was not
        already given); ``warm`` is what an environment reported."""
        with self._changed:
            modules = [name for name in warm.get("modules", []) if name not in self._preloaded]
            loads = [load for load in warm.get("loads", []) if repr(load) not in self._preloaded]
            self._preloaded.update(modules, (repr(load) for load in loads))
        if modules or loads:
            message = {"op": "preload", "modules": modules, "loads": loads}
            with contextlib.suppress(OSError):  # a server that is gone forks nothing any more
                self._control.send(json.dumps(message).encode())
        self._warm.set()  # after the send: a fork request queues behind the imports

    def fork(
        self, env: dict[str, str], cwd: str, fds: tuple[int, int, int], timeout_s: float
    ) -> int:
        """Start an environment on ``fds`` (request read end, response write end, log write
        end); returns its pid. After the first, waits for the first preload (at most
        ``timeout_s``) and behind the imports the server may still be running."""
        with self._fork_lock:
            first, self._first_forked = not self._first_forked, True
        if not first:
            self._warm.wait(timeout_s)
        return self._fork({"op": "fork", "env": env, "cwd": cwd}, list(fds), timeout_s)


class RuntimeProcess:
    """A started runtime: ``invoke`` one request at a time, ``kill`` to end it."""

    def __init__(
        self, python: str, env: dict[str, str], cwd: str, fork_server: ForkServer | None = None
    ) -> None:
        self._python = python
        self._env = env
        self._cwd = cwd
        self._fork_server = fork_server
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self.init_output = ""
        self.init_ms = 0.0
        self.forked = False
        self.warm: dict[str, list[Any]] = {}  # what its init loaded (see bootstrap)

    @property
    def alive(self) -> bool:
        if self._pid is None:
            return False
        if self._proc is not None:
            return self._proc.poll() is None
        assert self._fork_server is not None
        return self._fork_server.running(self._pid)

    def start(self, timeout_s: float) -> None:
        """Start the runtime (forked if there is a live fork server) and block until the
        handler is loaded. The libraries it reports go to the fork server, if any (even after
        a failed start, so that environments waiting for the report go on)."""
        try:
            self._start(timeout_s)
        finally:
            if self._fork_server is not None:
                self._fork_server.preload(self.warm)

    def _start(self, timeout_s: float) -> None:
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        self._log_r, log_w = os.pipe()
        started = time.perf_counter()
        try:
            if self._fork_server is not None and self._fork_server.alive:
                try:
                    self._pid = self._fork_server.fork(
                        self._env, self._cwd, (req_r, resp_w, log_w), timeout_s
                    )
                    self.forked = True
                except (OSError, StartupError):  # the server died: start the slow way
                    self._spawn(req_r, resp_w, log_w)
            else:
                self._spawn(req_r, resp_w, log_w)
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
        self.warm = frame.get("warm", {})

    def _spawn(self, req_r: int, resp_w: int, log_w: int) -> None:
        env = dict(self._env, _HOSTEXEC_REQUEST_FD=str(req_r), _HOSTEXEC_RESPONSE_FD=str(resp_w))
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
        self._pid = self._proc.pid

    def invoke(
        self,
        request: dict[str, object],
        timeout_s: float,
        crash: str | None = None,
        hang: str | None = None,
    ) -> Outcome:
        """Run one invocation. ``crash`` and ``hang`` are faults of offline FIS actions
        (fis/faults.py), done to the process itself:

        - ``crash``: the process group is killed with SIGKILL, ``before-handler`` (frozen with
          SIGSTOP, given the event, killed: the handler never starts) or ``after-handler``
          (killed as its answer arrives, once the handler has finished; the answer is dropped);
          the outcome is a crashed runtime (``exit_status`` -9);
        - ``hang``: no answer until ``timeout_s``, ``before-handler`` (frozen with the event)
          or ``after-handler`` (the handler's answer is dropped); then it is killed as any
          runtime that outlives its deadline.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        if "before-handler" in (crash, hang):
            self._signal(signal.SIGSTOP)  # it gets the event, but cannot run the handler
        os.write(self._req_w, json.dumps(request).encode() + b"\n")
        if crash == "before-handler":
            return self._killed(started, "")
        frame, output, timed_out = self._await_frame(deadline)
        if frame is not None and crash == "after-handler":
            return self._killed(started, output)
        if frame is not None and hang == "after-handler":
            time.sleep(max(deadline - time.monotonic(), 0))  # the answer never comes
            frame, timed_out = None, True
        duration_ms = (time.perf_counter() - started) * 1000
        if frame is None:
            status = None if timed_out else self._exit_status()
            self.kill()
            return Outcome(
                False,
                b"",
                output,
                duration_ms,
                crashed=True,
                timed_out=timed_out,
                exit_status=status,
            )
        if self._fork_server is not None and frame.get("warm"):
            self._fork_server.preload(frame["warm"])  # what the first invocation loaded
        return Outcome(
            ok=frame["ok"],
            body=frame["body"].encode(),
            output=output,
            duration_ms=duration_ms,
            max_rss_mb=frame.get("max_rss_mb", 0),
            warm=frame.get("warm", {}),
            fis=frame.get("fis", {}),
        )

    def _signal(self, signum: int) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pid, signum)

    def _killed(self, started: float, output: str) -> Outcome:
        """SIGKILL now; the outcome of a runtime that died mid-invocation."""
        self._signal(signal.SIGKILL)
        # A forked one is reaped by its server, which may report late (seen in the emulator: not
        # within 1 s); the SIGKILL is what ended it either way.
        status = self._exit_status(wait_s=0.2)
        if status is None:
            status = -signal.SIGKILL
        output += _text(bytearray(_read_available(self._log_r)))
        self.kill()
        duration_ms = (time.perf_counter() - started) * 1000
        return Outcome(False, b"", output, duration_ms, crashed=True, exit_status=status)

    def _exit_status(self, wait_s: float = 1.0) -> int | None:
        """The status of a runtime whose pipes closed: it is exiting, or has exited."""
        if self._proc is not None:
            try:
                return self._proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                return None
        if self._pid is None or self._fork_server is None:
            return None
        # Its server reaps it and reports the status, a moment after the pipes closed.
        return self._fork_server.exit_status(self._pid, wait_s=wait_s)

    def kill(self) -> None:
        if self._pid is None:
            return
        if self._proc is not None:
            if self._proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._pid, signal.SIGKILL)
            self._proc.wait()
        elif self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pid, signal.SIGKILL)  # its server reaps it
        for fd in (self._req_w, self._resp_r, self._log_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._proc = None
        self._pid = None

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
