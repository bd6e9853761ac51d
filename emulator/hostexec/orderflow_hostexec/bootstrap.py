"""The Python runtime inside one execution environment (a child process of the emulator).

It plays the part of the runtime interface client of a real Python Lambda sandbox: it loads the
handler named by ``_HANDLER`` once, then serves invocations one at a time. It talks to its
parent, ``environment.RuntimeProcess``, over two pipes of newline-delimited JSON frames:

    parent -> child  {"id", "arn", "trace", "deadline_ms", "payload"}
    child -> parent  {"ready": true, "init_ms"}                       once, after loading
                     {"id", "ok": true|false, "body", "max_rss_mb"}   per invocation

stdout and stderr are the parent's log pipe. Everything is flushed before a response frame is
written, so the parent holds the invocation's complete output once it reads the response.

Standard library only: the function must see its bundle, its layers and the runtime's boto3,
never this emulator's packages.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

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


def main() -> None:
    # Like /var/runtime in a real sandbox, this folder is not the function's to import from.
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    requests = open(int(os.environ.pop("_HOSTEXEC_REQUEST_FD")), "rb")  # noqa: SIM115
    responses = open(int(os.environ.pop("_HOSTEXEC_RESPONSE_FD")), "wb")  # noqa: SIM115
    started = time.perf_counter()
    handler = load_handler(os.environ["_HANDLER"])
    _send(responses, {"ready": True, "init_ms": (time.perf_counter() - started) * 1000})
    for line in requests:
        request = json.loads(line)
        frame = invoke(handler, request)
        frame["id"] = request["id"]
        frame["max_rss_mb"] = _peak_memory_mb()
        _send(responses, frame)


if __name__ == "__main__":
    main()
