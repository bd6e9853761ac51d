"""The running emulator applied every patch the kit declares (emulator/hostexec/
orderflow_hostexec/registry.py), on the LocalStack version they were written for, and the
behaviour fix does what Lambda does. How a mismatch refuses start-up is unit-tested
(tests/unit/emulator/test_patches.py)."""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.cpu import DYNAMODB_LOCAL, processes_of
from emulator import ctl
from emulator.clients import client, endpoint
from orderflow_hostexec import kit, patches, registry
from tests.integration.conftest import LAMBDAS
from tests.integration.support import eventually, invoke, zipped


@pytest.fixture(scope="module")
def report(emulator: None) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint()}{kit.PATCHES_PATH}", timeout=10) as answer:
        return json.load(answer)


def test_every_declared_patch_is_applied(report: dict[str, Any]) -> None:
    # Given what the kit declares, and what the running emulator says it did at start-up
    reported = {entry["name"]: entry for entry in report["patches"]}

    # Then every patch is there, applied (or, for what the kit only relies on, verified)
    assert list(reported) == [patch.name for patch in registry.ALL]
    for patch in registry.ALL:
        entry = reported[patch.name]
        assert entry["status"] == ("applied" if patch.apply else "verified"), entry
        assert entry["kind"] == patch.kind
        assert entry["targets"] == [str(target) for target in patch.targets]


def test_the_emulator_runs_the_pinned_localstack(report: dict[str, Any]) -> None:
    assert report["localstack-core"] == patches.read_pins()["localstack-core"]


@pytest.fixture
def function_with_own_log_group(lambda_client: Any) -> Iterator[tuple[str, str]]:
    name = f"it-{uuid.uuid4().hex[:12]}"
    group = f"/orderflow/it/{name}"
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/lambda-it",
        Handler="probe.handler",
        Code={"ZipFile": zipped(LAMBDAS / "probe.py")},
        LoggingConfig={"LogFormat": "Text", "LogGroup": group},
    )
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)
    yield name, group
    lambda_client.delete_function(FunctionName=name)


def test_a_function_logs_to_the_log_group_it_names(
    lambda_client: Any, function_with_own_log_group: tuple[str, str]
) -> None:
    # Given a function whose LoggingConfig names a log group (the behaviour fix
    # 'lambda.custom-log-groups'; LocalStack alone writes to /aws/lambda/<name>)
    name, group = function_with_own_log_group
    marker = uuid.uuid4().hex

    # When it is invoked
    invoke(lambda_client, name, {"marker": marker})

    # Then its output reaches that log group (shipped asynchronously, as on AWS)
    logs = client("logs")

    def output() -> str | None:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        text = "".join(event["message"] for event in events)
        return text if marker in text else None

    assert "START RequestId" in eventually(output, timeout_s=15)


def _thread_names(pid: int) -> list[str]:
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            names.append((task / "comm").read_text().strip())
    return names


def test_dynamodb_local_compiles_with_c1_only(emulator: None) -> None:
    # Given the emulator this checkout started, with DynamoDB Local running (it starts with the
    # first DynamoDB request)
    root = ctl.our_pid()
    assert root is not None, "the tests run against the emulator `make up` started"
    client("dynamodb").list_tables(Limit=1)

    def dynamodb_local() -> int | None:
        found = [pid for pid, group in processes_of(root).items() if group == DYNAMODB_LOCAL]
        return found[0] if found else None

    # Then its JVM has a C1 compiler thread and no C2 one (ctl.DYNAMODB_LOCAL_JVM_OPTIONS)
    threads = _thread_names(eventually(dynamodb_local, timeout_s=30))
    assert any(name.startswith("C1 CompilerThre") for name in threads), threads
    assert not any(name.startswith("C2 CompilerThre") for name in threads), threads
