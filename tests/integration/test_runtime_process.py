"""The host executor's execution environment, driven directly (no emulator needed): the
runtime protocol, output capture, timeouts and crashes, for spawned environments and for
environments forked from a function's fork server.

In the integration tier because every test spawns Python interpreters; none needs the emulator
or the deployed app (no fixture of tests/integration/conftest.py is used)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orderflow_hostexec.environment import (
    ZYGOTE_VARIABLES,
    ForkServer,
    RuntimeProcess,
    Zygote,
    python_startup_variables,
)

HANDLERS = """
import os, sys, time
import lib_mod

time.sleep(float(os.environ.get("SLOW_INIT_S", "0")))

INIT_PID = os.getpid()

def ok(event, context):
    print("to stdout", event)
    print("to stderr", file=sys.stderr)
    return {"pid": os.getpid(), "remaining": context.get_remaining_time_in_millis(),
            "trace": os.environ["_X_AMZN_TRACE_ID"]}

def where(event, context):
    return {"pid": os.getpid(), "init_pid": INIT_PID, "lib_pid": lib_mod.IMPORTED_IN,
            "stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], "cwd": os.getcwd()}

def lazy(event, context):
    import lazy_lib
    return lazy_lib.IMPORTED_IN

def client(event, context):
    import boto3
    session = boto3.DEFAULT_SESSION
    loaded = session._session.get_component("data_loader")._cache if session else {}
    sqs = boto3.client("sqs", region_name="us-east-1")
    model = ("load_service_model", "sqs", "service-2", "api_version", None)
    return {"pid": os.getpid(), "warm": model in loaded,
            "key": sqs._request_signer._credentials.access_key}

def slow(event, context):
    print("before sleeping")
    time.sleep(10)

def crash(event, context):
    os._exit(3)

def unserializable(event, context):
    return object()

def sandbox(event, context):
    return {"path": sys.path[:2], "tz": time.strftime("%Z", time.localtime(0)),
            "modules": sorted(m for m in ("boto3", "botocore", "lib_mod") if m in sys.modules),
            "variable": os.environ.get("FN_VARIABLE")}

def touch(event, context):
    open(event["path"], "a").write(str(os.getpid()) + "\\n")
    print("touched", event["path"])
    return {"pid": os.getpid()}
"""

Start = Callable[..., RuntimeProcess]


def environment(tmp_path: Path, handler: str, stream: str = "stream") -> dict[str, str]:
    return {
        **ZYGOTE_VARIABLES,
        "_HANDLER": handler,
        "PYTHONPATH": f"{tmp_path / 'code'}:{tmp_path / 'layer'}",
        "LAMBDA_TASK_ROOT": str(tmp_path / "code"),
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
    }


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "layer").mkdir()
    (tmp_path / "code" / "fn.py").write_text(HANDLERS)
    for library in ("lib_mod", "lazy_lib"):
        (tmp_path / "layer" / f"{library}.py").write_text("import os\nIMPORTED_IN = os.getpid()\n")
    return tmp_path


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    started = Zygote(sys.executable, dict(ZYGOTE_VARIABLES, PATH=os.environ["PATH"]))
    yield started
    started.close()


@pytest.fixture(params=["spawned", "forked", "forked from a zygote's fork server"])
def start(request: pytest.FixtureRequest, bundle: Path, zygote: Zygote) -> Iterator[Start]:
    processes: list[RuntimeProcess] = []
    servers: dict[str, ForkServer] = {}
    forked = request.param != "spawned"

    def _start(handler: str) -> RuntimeProcess:
        env = environment(bundle, handler)
        server = None
        if forked and handler not in servers:
            parent = zygote if request.param.endswith("zygote's fork server") else None
            servers[handler] = ForkServer(sys.executable, env, str(bundle / "code"), parent)
        server = servers.get(handler)
        process = RuntimeProcess(sys.executable, env, str(bundle / "code"), fork_server=server)
        process.start(timeout_s=10)
        assert process.forked == forked
        processes.append(process)
        return process

    yield _start
    for process in processes:
        process.kill()
    for server in servers.values():
        server.close()


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
    assert outcome.exit_status == 3
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


@pytest.fixture
def fork_server(bundle: Path) -> Iterator[ForkServer]:
    server = ForkServer(sys.executable, environment(bundle, "fn.where"), str(bundle / "code"))
    yield server
    server.close()


def started(bundle: Path, server: ForkServer, stream: str) -> RuntimeProcess:
    env = environment(bundle, "fn.where", stream=stream)
    process = RuntimeProcess(sys.executable, env, str(bundle / "code"), fork_server=server)
    process.start(timeout_s=10)
    return process


def test_forked_environments_share_libraries_but_run_their_own_init(
    bundle: Path, fork_server: ForkServer
) -> None:
    first = started(bundle, fork_server, stream="first")  # reports its libraries when ready
    assert "lib_mod" in first.warm["modules"]
    assert "fn" not in first.warm["modules"]  # the function's own code is never preloaded
    second = started(bundle, fork_server, stream="second")
    try:
        one = json.loads(first.invoke(request(), timeout_s=5).body)
        two = json.loads(second.invoke(request(), timeout_s=5).body)
    finally:
        first.kill()
        second.kill()

    assert one["lib_pid"] == one["init_pid"] == one["pid"]  # before the preload: its own import
    assert two["init_pid"] == two["pid"] != one["pid"]  # the function's init ran in the new one
    assert two["lib_pid"] not in (two["pid"], one["pid"])  # the library came from the server
    assert (one["stream"], two["stream"]) == ("first", "second")  # per-environment variables
    assert two["cwd"] == os.path.realpath(bundle / "code")


def test_fork_server_survives_its_environments(bundle: Path, fork_server: ForkServer) -> None:
    crashed = started(bundle, fork_server, stream="a")
    crashed.kill()
    assert not crashed.alive

    again = started(bundle, fork_server, stream="b")
    try:
        assert again.invoke(request(), timeout_s=5).ok
    finally:
        again.kill()
    assert fork_server.alive


def test_libraries_first_imported_by_an_invocation_are_reported_once(start) -> None:
    process = start("fn.lazy")
    assert "lazy_lib" not in process.warm.get("modules", [])  # not imported by the init

    first = process.invoke(request(), timeout_s=5)
    second = process.invoke(request(), timeout_s=5)

    assert "lazy_lib" in first.warm["modules"]
    assert second.warm == {}


def test_later_environments_wait_for_the_first_ones_libraries(
    bundle: Path, fork_server: ForkServer
) -> None:
    # Given the first environment of a function, still loading its handler (a slow init)
    slow_env = environment(bundle, "fn.where", stream="first")
    slow_env["SLOW_INIT_S"] = "1"
    first = RuntimeProcess(sys.executable, slow_env, str(bundle / "code"), fork_server=fork_server)
    loading = threading.Thread(target=first.start, args=(10,))
    loading.start()
    time.sleep(0.2)
    # When a second one is asked for meanwhile
    second = started(bundle, fork_server, stream="second")
    loading.join()
    try:
        # Then it was forked after the first one's report: the library was imported by the
        # server, not by itself (a bare server's child imports it on its own)
        body = json.loads(second.invoke(request(), timeout_s=5).body)
        assert body["lib_pid"] != body["pid"]
    finally:
        first.kill()
        second.kill()


def test_boto3_data_is_loaded_once_but_credentials_stay_per_environment(bundle: Path) -> None:
    def env(key: str) -> dict[str, str]:
        return {
            **environment(bundle, "fn.client"),
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": "secret",
        }

    server = ForkServer(sys.executable, env("server-key"), str(bundle / "code"))
    processes = []
    try:
        answers = []
        for key in ("first-key", "second-key"):
            process = RuntimeProcess(sys.executable, env(key), str(bundle / "code"), server)
            process.start(timeout_s=10)
            processes.append(process)
            # the first invocation builds the first client and reports what it loaded
            answers.append(json.loads(process.invoke(request(), timeout_s=10).body))
    finally:
        for process in processes:
            process.kill()
        server.close()

    first, second = answers
    assert not first["warm"]  # built its client from nothing
    assert second["warm"]  # found the SQS model loaded by its server
    assert (first["key"], second["key"]) == ("first-key", "second-key")


def test_a_zygotes_fork_server_is_what_a_new_interpreter_would_be(
    bundle: Path, zygote: Zygote
) -> None:
    env = dict(environment(bundle, "fn.sandbox"), TZ="Asia/Tokyo", FN_VARIABLE="set")
    answers = []
    for parent in (None, zygote):  # a fork server started as an interpreter, then a forked one
        server = ForkServer(sys.executable, env, str(bundle / "code"), zygote=parent)
        process = RuntimeProcess(sys.executable, env, str(bundle / "code"), fork_server=server)
        try:
            process.start(timeout_s=10)
            answers.append(json.loads(process.invoke(request(), timeout_s=5).body))
        finally:
            process.kill()
            server.close()

    interpreter, forked = answers
    assert forked == interpreter
    assert forked["path"] == [str(bundle / "code"), str(bundle / "layer")]  # PYTHONPATH first
    assert forked["tz"] == "JST"
    assert forked["modules"] == ["lib_mod"]  # no boto3 from the zygote
    assert forked["variable"] == "set"


def test_a_zygote_outlives_its_fork_servers_and_reports_their_end(
    bundle: Path, zygote: Zygote
) -> None:
    env = environment(bundle, "fn.ok")
    first = ForkServer(sys.executable, env, str(bundle / "code"), zygote=zygote)
    assert first.alive
    first.close()
    assert zygote.exit_status(first.pid, wait_s=5) == -9
    assert not first.alive

    second = ForkServer(sys.executable, env, str(bundle / "code"), zygote=zygote)
    process = RuntimeProcess(sys.executable, env, str(bundle / "code"), fork_server=second)
    try:
        process.start(timeout_s=10)
        assert process.invoke(request(), timeout_s=5).ok
    finally:
        process.kill()
        second.close()
    assert zygote.alive


def test_variables_that_change_an_interpreters_start_are_named(bundle: Path) -> None:
    env = environment(bundle, "fn.ok")
    assert python_startup_variables(env) == set()  # the sandbox's own: forked from the zygote
    assert python_startup_variables(dict(env, PYTHONWARNINGS="error")) == {"PYTHONWARNINGS"}
    assert python_startup_variables(dict(env, LANG="C")) == {"LANG"}
    assert python_startup_variables(dict(env, LC_ALL="C")) == {"LC_ALL"}
    without = {key: value for key, value in env.items() if key != "PYTHONNOUSERSITE"}
    assert python_startup_variables(without) == {"PYTHONNOUSERSITE"}


def test_an_environment_is_spawned_when_its_fork_server_is_gone(
    bundle: Path, fork_server: ForkServer
) -> None:
    first = started(bundle, fork_server, stream="first")
    first.kill()
    fork_server.close()  # killed, say, by an operator or the OOM killer

    second = started(bundle, fork_server, stream="second")
    try:
        assert not second.forked
        assert second.invoke(request(), timeout_s=5).ok
    finally:
        second.kill()


SDK_FAULTS = """
import boto3
from botocore.config import Config

# built at init, before any fault is armed, from boto3's default session (made by the fork
# server, for environments forked from one that preloaded boto3)
DYNAMODB = boto3.client(
    "dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
    aws_access_key_id="k", aws_secret_access_key="s",
    config=Config(retries={"total_max_attempts": 2}, connect_timeout=1),
)

def put(event, context):
    try:
        DYNAMODB.put_item(TableName="t", Item={"pk": {"S": "1"}})
    except Exception as exc:
        return getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
"""


def test_sdk_faults_reach_the_clients_of_spawned_and_forked_environments(bundle: Path) -> None:
    (bundle / "code" / "sdk.py").write_text(SDK_FAULTS)
    env = environment(bundle, "sdk.put")
    throttle = {
        "key": "EXP1/throttle",
        "kind": "dynamodb-throttle",
        "percentage": 100,
        "operations": [],
        "seed": 1,
        "source": "AWS FIS experiment EXP1, action throttle",
    }
    code = str(bundle / "code")
    server = ForkServer(sys.executable, env, code)
    # spawned, forked from a bare server, forked from the server once it preloaded boto3
    processes = [RuntimeProcess(sys.executable, env, code)]
    processes += [RuntimeProcess(sys.executable, env, code, server) for _ in range(2)]
    outcomes = []
    try:
        for process in processes:
            process.start(timeout_s=10)
            faulted = process.invoke(request() | {"fis": [throttle]}, timeout_s=10)
            untouched = process.invoke(request(), timeout_s=10)
            outcomes.append((process.forked, faulted, untouched))
    finally:
        for process in processes:
            process.kill()
        server.close()

    assert [forked for forked, _, _ in outcomes] == [False, True, True]
    for _, faulted, untouched in outcomes:
        # two attempts (one retry by botocore), both throttled; nothing armed: sent, refused
        assert json.loads(faulted.body) == "ProvisionedThroughputExceededException"
        assert faulted.fis == {"EXP1/throttle": [2, 2]}
        assert json.loads(untouched.body) == "EndpointConnectionError"
        assert untouched.fis == {}


# --- faults of the offline FIS actions orderflow:lambda:invocation-crash / -timeout ---


@pytest.mark.parametrize(
    ("point", "handler_ran"), [("after-handler", True), ("before-handler", False)]
)
def test_an_injected_crash_kills_the_process_with_sigkill(
    start: Start, tmp_path: Path, point: str, handler_ran: bool
) -> None:
    process = start("fn.touch")
    marker = tmp_path / "side-effect"

    outcome = process.invoke(request(path=str(marker)), timeout_s=5, crash=point)

    assert outcome.crashed and not outcome.timed_out and not outcome.ok
    assert outcome.exit_status == -9  # SIGKILL
    assert not process.alive
    assert marker.exists() == handler_ran
    assert ("touched" in outcome.output) == handler_ran


@pytest.mark.parametrize(
    ("point", "handler_ran"), [("after-handler", True), ("before-handler", False)]
)
def test_an_injected_hang_answers_only_at_the_timeout(
    start: Start, tmp_path: Path, point: str, handler_ran: bool
) -> None:
    process = start("fn.touch")
    marker = tmp_path / "side-effect"

    began = time.monotonic()
    outcome = process.invoke(request(path=str(marker)), timeout_s=1, hang=point)

    assert time.monotonic() - began >= 1
    assert outcome.timed_out and outcome.crashed and not outcome.ok
    assert not process.alive  # reset, as after any timeout
    assert marker.exists() == handler_ran
