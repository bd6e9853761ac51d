"""The Python runtime inside one execution environment (a child process of the emulator).

It plays the part of the runtime interface client of a real Python Lambda sandbox: it loads the
handler named by ``_HANDLER`` once, then serves invocations one at a time. It talks to its
parent, ``environment.RuntimeProcess``, over two pipes of newline-delimited JSON frames:

    parent -> child  {"id", "arn", "trace", "deadline_ms", "payload", "fis"?}
    child -> parent  {"ready": true, "init_ms"}                       once, after loading
                     {"id", "ok": true|false, "body", "max_rss_mb", "fis"?}
                                                                      per invocation

``fis``, only when running AWS FIS experiments target the function with faults in its SDK
calls: the faults, armed for that invocation (``sdk_faults.py``), and in the answer what they
injected.

stdout and stderr are the parent's log pipe. Everything is flushed before a response frame is
written, so the parent holds the invocation's complete output once it reads the response. The
ready frame also says what a fork server for the function may preload (``warm``): the modules
the handler's import loaded from outside the function's bundle, and the data files boto3's
default session loaded (service models, endpoint rules: 40-80 ms of CPU for a session's first
client). So does the response to the first invocation, as libraries and clients are often
built lazily, by the first call.

Started with ``--fork-server``, the same file is a function's fork server instead: an
interpreter with the function's environment that imports the libraries it is told to
(``preload``) and forks execution environments on request (``fork``), over a Unix
``SOCK_SEQPACKET`` socket (fd ``_HOSTEXEC_CONTROL_FD``):

    parent -> server  {"op": "preload", "modules": [...], "loads": [...]}
                      {"op": "fork", "env": {...}, "cwd": ...} + fds (request, response, log)
    server -> parent  {"op": "forked", "pid"}             the reply to each fork
                      {"op": "exited", "pid", "status"}   when an environment ends

A forked environment starts a new session, takes the three pipes, replaces its environment
variables and working directory with its own and loads the handler as above: the function's
own modules are always imported in the environment (its init runs once per environment, as in
Lambda); only library modules come from the server, already imported, and boto3's default
session with its data loaded (but no credentials, region or client: those are resolved in the
environment, from its own variables).

Started with ``--zygote``, it is a runtime's zygote: a bare interpreter that forks fork servers
over the same protocol (``fork`` with one fd, the new server's control socket; no ``preload``).
The child sets the function's variables, directory and time zone, rebuilds ``sys.path`` as
``PYTHONPATH`` would have, and serves as a fork server: a function's first cold start skips an
interpreter's start.

Standard library only: the function must see its bundle, its layers and the runtime's boto3,
never this emulator's packages.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

# The SDK faults of AWS FIS experiments (sdk_faults.py, standard library only), imported while
# this file's folder is still first on sys.path (see _leave_runtime_dir), or from the kit's
# package when the kit imports this module.
sdk_faults = importlib.import_module(f"{__package__}.sdk_faults" if __package__ else "sdk_faults")

Handler = Callable[[Any, "LambdaContext"], Any]


class LambdaContext:
    """The context object a Python Lambda handler receives."""

    def __init__(self, request_id: str, invoked_arn: str, deadline_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class Fault(Exception):
    """An error of the runtime itself (not raised by user code), shaped like Lambda's."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []

    def as_error(self) -> dict[str, Any]:
        return {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": self.stack,
        }


def _stack_of(exc: BaseException) -> list[str]:
    """The traceback without this runtime's own frames, as Lambda reports it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return traceback.format_list(frames)


def _peak_memory_mb() -> int:
    """Peak resident memory of this process since exec (VmHWM); ``ru_maxrss`` would include
    the emulator's footprint, inherited across the fork."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def load_handler(spec: str) -> Handler:
    """Import ``module.function``; a failure becomes a handler that raises the runtime fault,
    as the real runtime does, so every invoke reports it and the environment keeps serving."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return _raising(
            Fault(
                "Runtime.MalformedHandlerName",
                f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
            )
        )
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return _raising(
            Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        )
    except SyntaxError as exc:
        return _raising(
            Fault(
                "Runtime.UserCodeSyntaxError",
                f"Syntax error in module '{module_name}': {exc}",
                _stack_of(exc),
            )
        )
    except Exception as exc:
        return _raising(Fault(type(exc).__name__, str(exc), _stack_of(exc)))
    handler = getattr(module, function_name, None)
    if handler is None:
        return _raising(
            Fault(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        )
    return handler


def _raising(fault: Fault) -> Handler:
    _log_error(fault.error_type, fault.message, fault.stack)

    def handler(event: Any, context: LambdaContext) -> Any:
        raise fault

    return handler


def _log_error(error_type: str, message: str, stack: list[str]) -> None:
    trace = "".join(stack)
    print(
        f"[ERROR] {error_type}: {message}"
        + (f"\nTraceback (most recent call last):\n{trace}" if trace else ""),
        file=sys.stderr,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def invoke(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    os.environ["_X_AMZN_TRACE_ID"] = request["trace"]
    context = LambdaContext(request["id"], request["arn"], request["deadline_ms"])
    try:
        result = handler(json.loads(request["payload"] or "{}"), context)
    except Fault as fault:
        error = fault.as_error()
    except Exception as exc:
        error = _user_error(exc)
    else:
        try:
            return {"ok": True, "body": json.dumps(result, default=_json_default)}
        except (TypeError, ValueError) as exc:
            message = f"Unable to marshal response: {exc}"
            error = {"errorMessage": message, "errorType": "Runtime.MarshalError", "stackTrace": []}
    error["requestId"] = request["id"]
    return {"ok": False, "body": json.dumps(error)}


def _user_error(exc: Exception) -> dict[str, Any]:
    stack = _stack_of(exc)
    _log_error(type(exc).__name__, str(exc), stack)
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": stack}


def _send(channel: BinaryIO, frame: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    channel.write(json.dumps(frame).encode() + b"\n")
    channel.flush()


def library_modules(before: set[str], task_root: str) -> list[str]:
    """Modules imported since ``before`` that are not the function's own, in import order."""
    root = os.path.realpath(task_root) + os.sep
    loaded = []
    for name, module in list(sys.modules.items()):
        if name in before or name == "__main__":
            continue
        spec = getattr(module, "__spec__", None)
        places = [getattr(spec, "origin", None) or ""]
        places += list(getattr(spec, "submodule_search_locations", None) or [])
        if not any(os.path.realpath(place).startswith(root) for place in places if place):
            loaded.append(name)
    return loaded


# The data loader's methods whose results are worth loading ahead, and their keyword
# parameters (botocore keys its cache by the method name, the positional arguments, then each
# keyword argument as a flattened ``name, value`` pair). The listings they call are cached too.
_LOADS = {"load_service_model": ("api_version",), "load_data_with_path": (), "load_data": ()}


def boto3_data_loads() -> list[list[Any]]:
    """The loads cached by boto3's default session's data loader, as ``[method, args, kwargs]``."""
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None)
    if session is None:
        return []
    loader = session._session.get_component("data_loader")
    calls = []
    for method, *key in list(getattr(loader, "_cache", {})):
        keywords = _LOADS.get(method)
        if keywords is None or not all(part is None or isinstance(part, str) for part in key):
            continue
        args, kwargs = key, {}
        while len(args) >= 2 and args[-2] in keywords:
            kwargs[args[-2]] = args[-1]
            args = args[:-2]
        calls.append([method, args, kwargs])
    return calls


def warm_report(before: set[str]) -> dict[str, list[Any]]:
    """What a fork server may preload after this environment's init or first invocation."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    return {"modules": library_modules(before, task_root), "loads": boto3_data_loads()}


def serve(request_fd: int, response_fd: int) -> None:
    """Load the handler, report ready, then answer invocations until the parent hangs up."""
    requests = open(request_fd, "rb")  # noqa: SIM115
    responses = open(response_fd, "wb")  # noqa: SIM115
    started = time.perf_counter()
    before = set(sys.modules)
    handler = load_handler(os.environ["_HANDLER"])
    init_ms = (time.perf_counter() - started) * 1000
    _send(responses, {"ready": True, "init_ms": init_ms, "warm": warm_report(before)})
    first: set[str] | None = set(sys.modules)  # until the first invocation has reported
    for line in requests:
        request = json.loads(line)
        sdk_faults.begin(request.get("fis"))
        frame = invoke(handler, request)
        if injected := sdk_faults.end():
            frame["fis"] = injected
        frame["id"] = request["id"]
        frame["max_rss_mb"] = _peak_memory_mb()
        if first is not None:
            frame["warm"], first = warm_report(first), None
        _send(responses, frame)


def _leave_runtime_dir() -> None:
    # Like /var/runtime in a real sandbox, this folder is not the function's to import from.
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]


def main() -> None:
    _leave_runtime_dir()
    sdk_faults.watch()
    serve(int(os.environ.pop("_HOSTEXEC_REQUEST_FD")), int(os.environ.pop("_HOSTEXEC_RESPONSE_FD")))


# --- fork server -----------------------------------------------------------------------------

_MESSAGE_SIZE = 1 << 20


def fork_server() -> None:
    """Serve ``preload`` and ``fork`` requests until the parent closes the control socket."""
    _leave_runtime_dir()
    sdk_faults.watch()  # before the preloads: the sessions it makes carry the hooks
    _serve_forks(int(os.environ.pop("_HOSTEXEC_CONTROL_FD")), _become_environment)


def zygote() -> None:
    """Fork fork servers (``fork`` requests, one fd: the new server's control socket) until
    the parent closes the control socket. Imports nothing beyond this runtime's own modules."""
    _leave_runtime_dir()
    sdk_faults.watch()
    base_path = list(sys.path)

    def become_fork_server(env: dict[str, str], cwd: str, fds: list[int]) -> None:
        _become_fork_server(env, cwd, fds, base_path)

    _serve_forks(int(os.environ.pop("_HOSTEXEC_CONTROL_FD")), become_fork_server)


def _serve_forks(control_fd: int, become: Callable[[dict[str, str], str, list[int]], None]) -> None:
    """The fork server's and the zygote's loop: ``become`` runs in each forked child and never
    returns; children are reaped here and their exit statuses reported."""
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the wakeup fd
    while True:
        ready, _, _ = select.select([control.fileno(), wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
            _report_exits(control)
        if control.fileno() not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, _MESSAGE_SIZE, 3)
        if not message:  # the emulator is gone
            return
        request = json.loads(message)
        if request["op"] == "preload":
            _preload(request["modules"])
            _replay_loads(request.get("loads", []))
        elif request["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (control.detach(), wake_r, wake_w):
                    os.close(fd)
                become(request["env"], request["cwd"], fds)
            for fd in fds:
                os.close(fd)
            control.send(json.dumps({"op": "forked", "pid": pid}).encode())


def _become_fork_server(
    env: dict[str, str], cwd: str, fds: list[int], base_path: list[str]
) -> None:
    """In a child of the zygote: what ``python -u bootstrap.py --fork-server`` started with
    ``env`` in ``cwd`` would be (its variables, directory, time zone and ``sys.path``: the
    entries of ``PYTHONPATH`` before the interpreter's own). Never returns."""
    try:
        os.setsid()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        time.tzset()
        sys.path[:] = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path += base_path  # (the finders of the zygote's entries stay valid: they watch
        # their directories' modification times; importlib.invalidate_caches would import
        # importlib.metadata, a third of a cold start)
        (control_fd,) = fds
        _serve_forks(control_fd, _become_environment)
    finally:
        os._exit(0)


def _preload(modules: list[str]) -> None:
    for name in modules:
        with contextlib.suppress(BaseException):
            importlib.import_module(name)


def _replay_loads(loads: list[list[Any]]) -> None:
    """Load the same data into boto3's default session, created here if need be (creating it
    resolves nothing: credentials and region are looked up by each client, in its process)."""
    if not loads or "boto3" not in sys.modules:
        return
    boto3 = sys.modules["boto3"]
    with contextlib.suppress(Exception):
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
        for method, args, kwargs in loads:
            with contextlib.suppress(Exception):
                getattr(loader, method)(*args, **kwargs)


def _report_exits(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exit_status = os.waitstatus_to_exitcode(status)
        control.send(json.dumps({"op": "exited", "pid": pid, "status": exit_status}).encode())


def _become_environment(env: dict[str, str], cwd: str, fds: list[int]) -> None:
    """In the forked child: a session, pipes, environment and directory of its own, then the
    runtime loop. Never returns: the child must not fall back into the server's loop."""
    code = 1
    try:
        os.setsid()
        request_fd, response_fd, log_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(devnull)
        os.close(log_fd)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = [__file__]
        serve(request_fd, response_fd)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        fork_server()
    elif sys.argv[1:] == ["--zygote"]:
        zygote()
    else:
        main()
