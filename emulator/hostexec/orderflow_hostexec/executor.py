"""The ``RuntimeExecutor`` LocalStack drives: one instance per execution environment.

LocalStack's Lambda service keeps the semantics (warm reuse, one invocation per environment at a
time, a new environment for each concurrent invocation, keep-alive, log shipping to CloudWatch
Logs); this class only has to start, invoke and stop a sandbox. Its sandbox is a host process
(``environment.RuntimeProcess``) with the function's bundle and layers on its path and a
Lambda-like Python as its interpreter, instead of a container.

Environments of one function version are forked from that version's fork server
(``environment.ForkServer``), which loads what the version's first environment reported its
init and first invocation loaded (library modules, boto3 data); the first one pays a full
init. A version's fork server is itself forked from its runtime's zygote
(``environment.Zygote``), started when a function of that runtime is created, so a first cold
start does not wait for a new interpreter.

Configuration (environment of the LocalStack process):
    HOSTEXEC_PYTHON3_13   interpreter for the python3.13 runtime (one variable per runtime:
                          HOSTEXEC_PYTHON3_12, ...). It should carry what the real runtime
                          provides (boto3) and nothing else.
    HOSTEXEC_FORK_SERVER  ``0`` spawns every environment as a new interpreter (default ``1``).
    HOSTEXEC_ZYGOTE       ``0`` starts every fork server as a new interpreter (default ``1``).
    HOSTEXEC_DYNAMODB_DIRECT
                          ``0`` keeps the functions' DynamoDB calls on the gateway (default
                          ``1``: straight to DynamoDB Local when that is equivalent, see
                          ``dynamodb_endpoint``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import threading
import time
from collections import deque
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from orderflow_hostexec.environment import (
    ZYGOTE_VARIABLES,
    ForkServer,
    RuntimeProcess,
    StartupError,
    Zygote,
    python_startup_variables,
)
from orderflow_hostexec.fis.faults import BOARD as FIS_FAULTS
from orderflow_hostexec.wakes import STREAM_WRITES
from orderflow_hostexec.xray.service import daemon_address as xray_daemon_address

LOG = logging.getLogger(__name__)
_LOCAL_ADDRESS = "127.0.0.1"
_BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
_KEPT_LOG_CHARS = 64_000


# What differs between environments of the same function version (credentials, log stream,
# runtime id): set in each forked environment, not part of what its fork server is for.
_PER_ENVIRONMENT = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "LOCALSTACK_RUNTIME_ID",
        "LOCALSTACK_RUNTIME_ENDPOINT",
    }
)


class Zygotes:
    """One zygote per runtime interpreter, started with the first function of that runtime."""

    def __init__(self) -> None:
        self._zygotes: dict[str, Zygote] = {}
        self._lock = threading.Lock()

    def get(self, python: str) -> Zygote | None:
        """The interpreter's zygote (started if need be), or None when turned off or failing."""
        if os.environ.get("HOSTEXEC_ZYGOTE", "1") == "0":
            return None
        with self._lock:
            zygote = self._zygotes.get(python)
            if zygote is not None and zygote.alive:
                return zygote
            if zygote is not None:
                zygote.close()
            env = dict(ZYGOTE_VARIABLES, PATH=_BASE_PATH, HOME="/tmp")
            try:
                self._zygotes[python] = zygote = Zygote(python, env)
            except OSError:
                LOG.exception(
                    "cannot start a zygote for %s; fork servers start on their own", python
                )
                self._zygotes.pop(python, None)
                return None
            return zygote


ZYGOTES = Zygotes()


class ForkServers:
    """One fork server per function version, started with its first environment (forked from
    its runtime's zygote unless its variables change how an interpreter starts)."""

    def __init__(self) -> None:
        self._servers: dict[str, tuple[tuple[object, ...], ForkServer]] = {}
        self._lock = threading.Lock()

    def for_environment(
        self, arn: str, python: str, env: dict[str, str], cwd: str
    ) -> ForkServer | None:
        if os.environ.get("HOSTEXEC_FORK_SERVER", "1") == "0":
            return None
        shared = tuple(sorted(item for item in env.items() if item[0] not in _PER_ENVIRONMENT))
        key = (python, cwd, shared)
        with self._lock:
            current = self._servers.get(arn)
            if current and current[0] == key and current[1].alive:
                return current[1]
            if current:  # the version changed (code, configuration) or its server died
                current[1].close()
            zygote = None if python_startup_variables(env) else ZYGOTES.get(python)
            try:
                server = ForkServer(python, env, cwd, zygote=zygote)
            except (OSError, StartupError):
                LOG.exception("cannot start a fork server for %s; spawning instead", arn)
                self._servers.pop(arn, None)
                return None
            self._servers[arn] = (key, server)
            return server

    def close(self, arn: str) -> None:
        with self._lock:
            current = self._servers.pop(arn, None)
        if current:
            current[1].close()


FORK_SERVERS = ForkServers()


def dynamodb_endpoint() -> str | None:
    """DynamoDB Local's own address, for the functions' DynamoDB calls, or None.

    LocalStack's v2 DynamoDB provider forwards the data-plane operations to DynamoDB Local
    after putting the account and region into the request's credentials (DynamoDB Local keeps
    a database per credential). With one shared database (``DYNAMODB_SHARE_DB``) that rewrite
    changes nothing, and the gateway's work per call (~2.5 ms of the emulator's one busy core,
    twice an SQS call's) buys nothing either: the functions call DynamoDB Local directly, as a
    Lambda function calls DynamoDB without going through anything of LocalStack's. Streams
    are DynamoDB Local's own on v2, so every change still reaches its stream consumers.
    """
    if os.environ.get("HOSTEXEC_DYNAMODB_DIRECT", "1") == "0" or not config.DYNAMODB_SHARE_DB:
        return None
    if os.environ.get("PROVIDER_OVERRIDE_DYNAMODB") != "v2":  # v1 copies changes to streams itself
        return None
    from localstack.services.dynamodb.server import DynamodbServer

    server = DynamodbServer.get()
    return f"http://{_LOCAL_ADDRESS}:{server.port}" if server.is_running() else None


def interpreter_for(runtime: str | None) -> str:
    """The interpreter configured for a Lambda runtime such as ``python3.13``."""
    if not runtime or not runtime.startswith("python"):
        raise LambdaRuntimeException(
            f"The host executor runs Python runtimes only, not {runtime!r}."
        )
    variable = "HOSTEXEC_" + runtime.upper().replace(".", "_")
    python = os.environ.get(variable)
    if not python or not os.access(python, os.X_OK):
        raise LambdaRuntimeException(
            f"Runtime {runtime} needs an interpreter in {variable} (see emulator/README.md)."
        )
    return python


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._process: RuntimeProcess | None = None
        self._env: dict[str, str] = {}
        self._pending_init_log = ""
        self._history: deque[str] = deque()
        self._history_chars = 0
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # A runtime we cannot run (say, the Node.js Lambda of CDK's custom-resource framework)
        # must not fail the deployment: its invocations fail instead, naming the runtime.
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        with contextlib.suppress(LambdaRuntimeException):  # its first cold start forks from it
            ZYGOTES.get(interpreter_for(function_version.config.runtime))
        for layer in function_version.config.layers:
            if layer.code:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """LocalStack removes the unzipped code itself; the version's fork server goes here."""
        FORK_SERVERS.close(function_version.qualified_arn)

    def start(self, env_vars: dict[str, str]) -> None:
        self._env = self._sandbox_environment(env_vars)
        self._spawn()

    def stop(self) -> None:
        with self._lock:
            if self._process:
                self._process.kill()
                self._process = None

    def _spawn(self) -> None:
        config_ = self.function_version.config
        python = interpreter_for(config_.runtime)
        cwd = self._env["LAMBDA_TASK_ROOT"]
        server = FORK_SERVERS.for_environment(
            self.function_version.qualified_arn, python, self._env, cwd
        )
        process = RuntimeProcess(python=python, env=self._env, cwd=cwd, fork_server=server)
        process.start(timeout_s=config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        self._process = process
        self._pending_init_log = (
            f"INIT_START Runtime Version: {config_.runtime}.hostexec\n{process.init_output}"
        )

    def _sandbox_environment(self, env_vars: dict[str, str]) -> dict[str, str]:
        """What the function's process sees: Lambda's variables, its code and layers on the
        path, and nothing of the emulator's own environment."""
        code_dir = self._code_dir()
        layer_dirs = [
            str(layer.code.get_unzipped_code_location())
            for layer in reversed(self.function_version.config.layers)  # later layers win
            if layer.code
        ]
        python_path = [code_dir]
        for layer in layer_dirs:
            version = (self.function_version.config.runtime or "").removeprefix("python")
            python_path += [f"{layer}/python/lib/python{version}/site-packages", f"{layer}/python"]
        env = {key: str(value) for key, value in env_vars.items()}
        env.update(
            LAMBDA_TASK_ROOT=code_dir,
            LAMBDA_RUNTIME_DIR=str(Path(__file__).parent),
            AWS_EXECUTION_ENV=f"AWS_Lambda_{self.function_version.config.runtime}",
            PATH=":".join([f"{layer}/bin" for layer in layer_dirs] + [_BASE_PATH]),
            PYTHONPATH=":".join(python_path),
            PYTHONNOUSERSITE="1",
            LANG="en_US.UTF-8",
            HOME="/tmp",
        )
        env.setdefault("TZ", ":UTC")
        # the kit's X-Ray daemon (xray/daemon.py), where Lambda's variables point on AWS
        daemon = xray_daemon_address()
        env.update(
            AWS_XRAY_DAEMON_ADDRESS=daemon,
            _AWS_XRAY_DAEMON_ADDRESS=daemon.rsplit(":", 1)[0],
            _AWS_XRAY_DAEMON_PORT=daemon.rsplit(":", 1)[1],
        )
        env.setdefault("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
        if "AWS_ENDPOINT_URL_DYNAMODB" not in env and (endpoint := dynamodb_endpoint()):
            env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        return env

    def _code_dir(self) -> str:
        code = self.function_version.config.code
        if code is None:
            raise LambdaRuntimeException("Container-image functions need Docker.")
        return str(code.get_unzipped_code_location())

    # --- invocation ------------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout)
        with self._lock:
            log = [self._pending_init_log] if self._pending_init_log else []
            self._pending_init_log = ""
            if self._process is None or not self._process.alive:
                self._spawn()  # a reset sandbox: this invocation pays a new init
                log.append(self._pending_init_log)
                self._pending_init_log = ""
            process = self._process
            assert process is not None
        request = {
            "id": request_id,
            "arn": payload["invoked-function-arn"],
            "trace": payload["trace-id"],
            "deadline_ms": int(time.time() * 1000) + timeout_s * 1000,
            "payload": payload["payload"],
        }
        log.append(f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n")
        # AWS FIS Lambda actions of running experiments (fis/faults.py), as FIS's extension
        # applies them around the handler
        fault = FIS_FAULTS.plan(self.function_version.id.unqualified_arn())
        if fault.actions:
            log.append(f"{_utc_now()} {request_id} AWS FIS faults: {', '.join(fault.actions)}\n")
        delay_s = min(fault.delay_ms / 1000, timeout_s)  # within the invocation's time, as on AWS
        if delay_s:
            time.sleep(delay_s)
        if delay_s >= timeout_s:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            timed_out = {"errorType": "Sandbox.Timedout", "errorMessage": message}
            return self._injected(request_id, log, json.dumps(timed_out).encode(), True)
        if fault.before is not None:
            return self._injected(request_id, log, *fault.before)
        if fault.sdk:  # faults its own process applies to its SDK calls (sdk_faults.py)
            request["fis"] = fault.sdk
        outcome = process.invoke(
            request, timeout_s=timeout_s - delay_s, crash=fault.crash, hang=fault.hang
        )
        # it may have written to DynamoDB Local directly: idle stream pollers read now
        # (event_sources.stream-wait-for-writes)
        STREAM_WRITES.wake()
        log.append(outcome.output)
        if outcome.fis:
            FIS_FAULTS.record(outcome.fis)
            hit = [f"{key} ({n} of {seen})" for key, (n, seen) in outcome.fis.items() if n]
            if hit:
                log.append(f"{_utc_now()} {request_id} AWS FIS SDK faults: {', '.join(hit)}\n")
        if fault.after is not None and not (outcome.timed_out or outcome.crashed):
            return self._injected(request_id, log, *fault.after)
        if outcome.timed_out:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            body = json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode()
            log.append(f"{_utc_now()} {request_id} Task timed out after {timeout_s:.2f} seconds\n")
        elif outcome.crashed:
            message = (
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"{exit_description(outcome.exit_status)}"
            )
            body = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode()
            log.append(message + "\n")
        else:
            body = outcome.body
        log.append(f"END RequestId: {request_id}\n")
        log.append(
            f"REPORT RequestId: {request_id}\tDuration: {outcome.duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(outcome.duration_ms)} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\t"
            f"Max Memory Used: {outcome.max_rss_mb} MB\n"
        )
        logs = "".join(log)
        self._remember(logs)
        return InvocationResult(request_id, body, is_error=not outcome.ok, logs=logs)

    def _injected(
        self, request_id: str, log: list[str], body: bytes, is_error: bool
    ) -> InvocationResult:
        """An invocation answered by an AWS FIS fault instead of the handler."""
        log.append(f"END RequestId: {request_id}\n")
        log.append(
            f"REPORT RequestId: {request_id}\tDuration: 0.00 ms\tBilled Duration: 0 ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\t"
            f"Max Memory Used: 0 MB\n"
        )
        logs = "".join(log)
        self._remember(logs)
        return InvocationResult(request_id, body, is_error=is_error, logs=logs)

    # --- addresses and logs ----------------------------------------------------------------

    def get_address(self) -> str:
        return _LOCAL_ADDRESS

    def get_endpoint_from_executor(self) -> str:
        return _LOCAL_ADDRESS

    def get_runtime_endpoint(self) -> str:
        # Unused by this executor (its runtime answers over pipes), but part of the contract.
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{_LOCAL_ADDRESS}:{port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "".join(self._history)

    def _remember(self, logs: str) -> None:
        self._history.append(logs)
        self._history_chars += len(logs)
        while self._history_chars > _KEPT_LOG_CHARS and len(self._history) > 1:
            self._history_chars -= len(self._history.popleft())


# How Lambda's runtime API words a runtime's end (Go's ProcessState): "signal: killed" for a
# SIGKILL (an out-of-memory kill, or orderflow:lambda:invocation-crash), "exit status 1".
_SIGNAL_WORDS = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
}


def exit_description(status: int | None) -> str:
    if status is not None and status < 0:
        try:
            signum = signal.Signals(-status)
        except ValueError:
            return f"signal: {-status}"
        return f"signal: {_SIGNAL_WORDS.get(signum, signum.name)}"
    return f"exit status {status}"


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
