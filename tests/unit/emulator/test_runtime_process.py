"""The host executor's execution environment, driven directly (no emulator needed): the
runtime protocol, output capture, timeouts and crashes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderflow_hostexec.environment import RuntimeProcess

HANDLERS = """
import os, sys, time

def ok(event, context):
    print("to stdout", event)
    print("to stderr", file=sys.stderr)
    return {"pid": os.getpid(), "remaining": context.get_remaining_time_in_millis(),
            "trace": os.environ["_X_AMZN_TRACE_ID"]}

def slow(event, context):
    print("before sleeping")
    time.sleep(10)

def crash(event, context):
    os._exit(3)

def unserializable(event, context):
    return object()
"""


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    (tmp_path / "fn.py").write_text(HANDLERS)
    processes: list[RuntimeProcess] = []

    def _start(handler: str) -> RuntimeProcess:
        env = {
            "_HANDLER": handler,
            "PYTHONPATH": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "stream",
        }
        process = RuntimeProcess(python=sys.executable, env=env, cwd=str(tmp_path))
        process.start(timeout_s=10)
        processes.append(process)
        return process

    yield _start
    for process in processes:
        process.kill()


def request(deadline_in_s: float = 5, **event: object) -> dict[str, object]:
    import time

    return {
        "id": "req-1",
        "arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "trace": "Root=1-abc;Parent=def;Sampled=1",
        "deadline_ms": int((time.time() + deadline_in_s) * 1000),
        "payload": json.dumps(event),
    }


def test_invocation_returns_result_and_captures_both_streams(start) -> None:
    process = start("fn.ok")

    outcome = process.invoke(request(a=1), timeout_s=5)

    assert outcome.ok
    body = json.loads(outcome.body)
    assert body["trace"] == "Root=1-abc;Parent=def;Sampled=1"
    assert 0 < body["remaining"] <= 5000
    assert "to stdout {'a': 1}" in outcome.output
    assert "to stderr" in outcome.output


def test_warm_invocations_share_the_process_and_not_the_output(start) -> None:
    process = start("fn.ok")

    first = process.invoke(request(n=1), timeout_s=5)
    second = process.invoke(request(n=2), timeout_s=5)

    assert json.loads(first.body)["pid"] == json.loads(second.body)["pid"]
    assert "{'n': 1}" not in second.output


def test_timeout_kills_the_process_and_keeps_output_so_far(start) -> None:
    process = start("fn.slow")

    outcome = process.invoke(request(), timeout_s=0.5)

    assert outcome.timed_out and outcome.crashed and not outcome.ok
    assert "before sleeping" in outcome.output
    assert not process.alive


def test_process_exit_is_reported_as_a_crash(start) -> None:
    process = start("fn.crash")

    outcome = process.invoke(request(), timeout_s=5)

    assert outcome.crashed and not outcome.timed_out
    assert process.exit_status() is None  # killed and reaped: nothing left running
    assert not process.alive


def test_unserializable_result_is_a_marshal_error(start) -> None:
    process = start("fn.unserializable")

    outcome = process.invoke(request(), timeout_s=5)

    assert not outcome.ok
    assert json.loads(outcome.body)["errorType"] == "Runtime.MarshalError"


def test_missing_module_is_reported_on_invoke_not_at_start(start) -> None:
    process = start("absent.handler")

    outcome = process.invoke(request(), timeout_s=5)

    assert not outcome.ok
    error = json.loads(outcome.body)
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'absent'" in error["errorMessage"]
    assert "Runtime.ImportModuleError" in process.init_output
