"""AWS FIS offline (emulator/hostexec/orderflow_hostexec/fis/): templates and experiments through
boto3's ``fis`` client and the AWS CLI, and the Lambda actions applied by the host executor to
the invocations of a throwaway function targeted by tag."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.clients import REGION, client, endpoint
from orderflow_hostexec.fis.faults import FAULTS_PATH
from tests.integration.conftest import ROOT
from tests.integration.support import eventually

ROLE = "arn:aws:iam::000000000000:role/fis-it"
TAG = "orderflow:fis-it"


@pytest.fixture(scope="module")
def fis(emulator: None) -> Any:
    return client("fis")


@pytest.fixture
def target(make_function: Callable[..., str], lambda_client: Any) -> str:
    """A throwaway function tagged so that only this test's templates target it."""
    name = make_function()
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={TAG: name})
    return name


@pytest.fixture
def experiments(fis: Any) -> Iterator[list[str]]:
    """Experiments started by the test: stopped after it, so no fault outlives it."""
    started: list[str] = []
    yield started
    for experiment_id in started:
        if fis.get_experiment(id=experiment_id)["experiment"]["state"]["status"] == "running":
            fis.stop_experiment(id=experiment_id)


def _template(fis: Any, function: str, action_id: str, parameters: dict[str, str]) -> str:
    return fis.create_experiment_template(
        clientToken=uuid.uuid4().hex,
        description=f"fis-it {action_id}",
        roleArn=ROLE,
        stopConditions=[{"source": "none"}],
        targets={
            "fn": {
                "resourceType": "aws:lambda:function",
                "resourceTags": {TAG: function},
                "selectionMode": "ALL",
            }
        },
        actions={
            "fault": {
                "actionId": action_id,
                "parameters": parameters,
                "targets": {"Functions": "fn"},
            }
        },
        tags={"orderflow:seed": "7"},
    )["experimentTemplate"]["id"]


def _start(fis: Any, template_id: str, experiments: list[str]) -> str:
    experiment_id: str = fis.start_experiment(
        clientToken=uuid.uuid4().hex, experimentTemplateId=template_id
    )["experiment"]["id"]
    experiments.append(experiment_id)
    eventually(lambda: _status(fis, experiment_id) == "running", timeout_s=10, every_s=0.1)
    return experiment_id


def _status(fis: Any, experiment_id: str) -> str:
    status: str = fis.get_experiment(id=experiment_id)["experiment"]["state"]["status"]
    return status


def _invoke(lambda_client: Any, function: str) -> tuple[str | None, dict[str, Any], str]:
    answer = lambda_client.invoke(FunctionName=function, Payload=b"{}", LogType="Tail")
    logs = base64.b64decode(answer.get("LogResult", "")).decode()
    return answer.get("FunctionError"), json.loads(answer["Payload"].read()), logs


def test_invocation_error_until_the_experiment_is_stopped(
    fis: Any, lambda_client: Any, target: str, experiments: list[str]
) -> None:
    template_id = _template(
        fis,
        target,
        "aws:lambda:invocation-error",
        {"duration": "PT10S", "invocationPercentage": "100", "preventExecution": "true"},
    )
    experiment_id = _start(fis, template_id, experiments)

    error, payload, logs = _invoke(lambda_client, target)
    assert error == "Unhandled"
    assert payload["errorType"] == "FaultInjected"
    assert experiment_id in payload["errorMessage"]
    assert "probe invoked" not in logs  # preventExecution: the handler never ran

    experiment = fis.get_experiment(id=experiment_id)["experiment"]
    assert experiment["targets"]["fn"]["resourceArns"] == [
        lambda_client.get_function(FunctionName=target)["Configuration"]["FunctionArn"]
    ]
    assert "Faults injected: 1 of 1" in experiment["actions"]["fault"]["state"]["reason"]

    fis.stop_experiment(id=experiment_id)
    assert _status(fis, experiment_id) in ("stopping", "stopped")
    eventually(lambda: _status(fis, experiment_id) == "stopped", timeout_s=10, every_s=0.1)
    stopped = fis.get_experiment(id=experiment_id)["experiment"]
    assert stopped["actions"]["fault"]["state"]["status"] == "stopped"
    error, payload, _ = _invoke(lambda_client, target)
    assert error is None
    assert payload["context"]["function_name"] == target


def test_an_error_after_the_handler_ran(
    fis: Any, lambda_client: Any, target: str, experiments: list[str]
) -> None:
    template_id = _template(
        fis,
        target,
        "aws:lambda:invocation-error",
        {"duration": "PT10S", "preventExecution": "false"},
    )
    _start(fis, template_id, experiments)

    error, payload, logs = _invoke(lambda_client, target)
    assert error == "Unhandled"
    assert payload["errorType"] == "FaultInjected"
    assert "probe invoked" in logs  # the handler ran, then the invocation failed


def test_an_http_integration_response_replaces_the_answer(
    fis: Any, lambda_client: Any, target: str, experiments: list[str]
) -> None:
    template_id = _template(
        fis,
        target,
        "aws:lambda:invocation-http-integration-response",
        {
            "duration": "PT10S",
            "statusCode": "503",
            "contentTypeHeader": "application/json",
            "preventExecution": "true",
        },
    )
    _start(fis, template_id, experiments)

    error, payload, _ = _invoke(lambda_client, target)
    assert error is None
    assert payload["statusCode"] == 503
    assert payload["headers"] == {"Content-Type": "application/json"}


def test_add_delay_delays_the_invocation(
    fis: Any, lambda_client: Any, target: str, experiments: list[str]
) -> None:
    _invoke(lambda_client, target)  # warm: the delay measured is not the first init
    template_id = _template(
        fis,
        target,
        "aws:lambda:invocation-add-delay",
        {"duration": "PT10S", "startupDelayMilliseconds": "1500"},
    )
    experiment_id = _start(fis, template_id, experiments)

    started = time.monotonic()
    error, payload, _ = _invoke(lambda_client, target)
    elapsed = time.monotonic() - started
    assert error is None and payload["context"]["function_name"] == target
    assert elapsed >= 1.5

    with urllib.request.urlopen(f"{endpoint()}{FAULTS_PATH}", timeout=10) as answer:
        faults = json.load(answer)
    assert faults["experiments"][experiment_id]["fault"]["injected"] == 1


def test_an_experiment_completes_after_its_longest_action(
    fis: Any, target: str, experiments: list[str]
) -> None:
    template_id = _template(fis, target, "aws:lambda:invocation-add-delay", {"duration": "PT1S"})
    experiment_id = _start(fis, template_id, experiments)

    eventually(lambda: _status(fis, experiment_id) == "completed", timeout_s=10, every_s=0.2)
    actions = fis.get_experiment(id=experiment_id)["experiment"]["actions"]
    assert actions["fault"]["state"]["status"] == "completed"

    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
    )
    aws = [str(ROOT / ".venvs/emulator/bin/aws"), "--endpoint-url", endpoint()]
    listed = subprocess.run(
        [*aws, "fis", "list-experiments", "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    summaries = {e["id"]: e for e in json.loads(listed.stdout)["experiments"]}
    assert summaries[experiment_id]["state"]["status"] == "completed"
    assert summaries[experiment_id]["experimentTemplateId"] == template_id

    fis.update_experiment_template(id=template_id, description="renamed")
    assert fis.get_experiment_template(id=template_id)["experimentTemplate"]["description"] == (
        "renamed"
    )
    fis.delete_experiment_template(id=template_id)
    assert template_id not in {
        t["id"] for t in fis.list_experiment_templates()["experimentTemplates"]
    }


def test_templates_are_validated_like_fis(fis: Any, target: str) -> None:
    with pytest.raises(ClientError) as unknown:
        _template(fis, target, "aws:lambda:invocation-nonsense", {"duration": "PT1M"})
    assert unknown.value.response["Error"]["Code"] == "ValidationException"
    assert "aws:lambda:invocation-nonsense" in unknown.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as duration:
        _template(fis, target, "aws:lambda:invocation-error", {"duration": "1 minute"})
    assert "duration" in duration.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as missing:
        fis.get_experiment(id="EXP-not-there")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_delay_as_long_as_the_timeout_times_the_invocation_out(
    fis: Any, lambda_client: Any, make_function: Callable[..., str], experiments: list[str]
) -> None:
    function = make_function(timeout=1)
    arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={TAG: function})
    template_id = _template(
        fis,
        function,
        "aws:lambda:invocation-add-delay",
        {"duration": "PT10S", "startupDelayMilliseconds": "1500"},
    )
    _start(fis, template_id, experiments)

    error, payload, logs = _invoke(lambda_client, function)

    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "probe invoked" not in logs


def test_a_percentage_of_invocations_with_a_seed_and_every_fault_counted(
    fis: Any, lambda_client: Any, target: str, experiments: list[str]
) -> None:
    template_id = _template(
        fis,
        target,
        "aws:lambda:invocation-error",
        {"duration": "PT30S", "invocationPercentage": "50", "preventExecution": "true"},
    )
    experiment_id = _start(fis, template_id, experiments)

    failed = sum(_invoke(lambda_client, target)[0] is not None for _ in range(20))

    assert 0 < failed < 20
    reason = fis.get_experiment(id=experiment_id)["experiment"]["actions"]["fault"]["state"]
    assert f"Faults injected: {failed} of 20" in reason["reason"]
    tags = fis.list_tags_for_resource(
        resourceArn=fis.get_experiment(id=experiment_id)["experiment"]["arn"]
    )["tags"]
    assert tags == {"orderflow:seed": "7"}  # the template's seed, so this run repeats


# --- orderflow:... actions of our own (offline only): crash, timeout, provider mode ---


@pytest.fixture
def table() -> Iterator[str]:
    """A throwaway table the probe's ``put_item`` handler writes to (a visible side effect)."""
    dynamodb = client("dynamodb")
    name = f"it-fis-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def _tagged_function(lambda_client: Any, make_function: Callable[..., str], **kwargs: Any) -> str:
    function = make_function(**kwargs)
    arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={TAG: function})
    return function


def _put(lambda_client: Any, function: str, table: str, pk: str) -> tuple[Any, dict[str, Any], str]:
    event = json.dumps({"table": table, "pk": pk}).encode()
    answer = lambda_client.invoke(FunctionName=function, Payload=event, LogType="Tail")
    logs = base64.b64decode(answer.get("LogResult", "")).decode()
    return answer.get("FunctionError"), json.loads(answer["Payload"].read()), logs


def _item(table: str, pk: str) -> bool:
    found = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)
    return "Item" in found


def test_a_crash_after_the_handler_kills_the_runtime_and_the_next_invocation_inits_again(
    fis: Any,
    lambda_client: Any,
    make_function: Callable[..., str],
    table: str,
    experiments: list[str],
) -> None:
    # Given a warm environment
    function = _tagged_function(lambda_client, make_function, handler="probe.put_item")
    error, warm, _ = _put(lambda_client, function, table, "warm")
    assert error is None
    # When its runtime crashes after the handler, in every invocation
    template_id = _template(
        fis,
        function,
        "orderflow:lambda:invocation-crash",
        {"duration": "PT30S", "invocationPercentage": "100", "crashPoint": "after-handler"},
    )
    experiment_id = _start(fis, template_id, experiments)
    error, payload, logs = _put(lambda_client, function, table, "crashed")

    # Then the handler's side effect happened, but the invoke answers a runtime exit
    assert _item(table, "crashed")
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in payload["errorMessage"]
    assert f"AWS FIS faults: {experiment_id}/fault" in logs
    reason = fis.get_experiment(id=experiment_id)["experiment"]["actions"]["fault"]["state"]
    assert "Faults injected: 1 of 1 invocations." in reason["reason"]
    # And once the experiment stops, the next invocation gets a new environment (a new init)
    fis.stop_experiment(id=experiment_id)
    eventually(lambda: _status(fis, experiment_id) == "stopped", timeout_s=10, every_s=0.1)
    error, after, logs = _put(lambda_client, function, table, "after")
    assert error is None
    assert after["pid"] != warm["pid"]
    assert "INIT_START" in logs


def test_a_crash_before_the_handler_leaves_no_side_effect(
    fis: Any,
    lambda_client: Any,
    make_function: Callable[..., str],
    table: str,
    experiments: list[str],
) -> None:
    function = _tagged_function(lambda_client, make_function, handler="probe.put_item")
    template_id = _template(
        fis,
        function,
        "orderflow:lambda:invocation-crash",
        {"duration": "PT30S", "crashPoint": "before-handler"},
    )
    _start(fis, template_id, experiments)

    error, payload, _ = _put(lambda_client, function, table, "never")

    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert not _item(table, "never")


@pytest.mark.parametrize("prevent", ["false", "true"])
def test_a_timeout_answers_sandbox_timedout_after_the_functions_timeout(
    fis: Any,
    lambda_client: Any,
    make_function: Callable[..., str],
    experiments: list[str],
    prevent: str,
) -> None:
    function = _tagged_function(lambda_client, make_function, timeout=2)
    _invoke(lambda_client, function)  # warm: the time measured is not the first init
    template_id = _template(
        fis,
        function,
        "orderflow:lambda:invocation-timeout",
        {"duration": "PT30S", "invocationPercentage": "100", "preventExecution": prevent},
    )
    experiment_id = _start(fis, template_id, experiments)

    started = time.monotonic()
    error, payload, logs = _invoke(lambda_client, function)
    elapsed = time.monotonic() - started

    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    assert elapsed >= 2
    assert ("probe invoked" in logs) == (prevent == "false")  # the handler ran, or not
    with urllib.request.urlopen(f"{endpoint()}{FAULTS_PATH}", timeout=10) as answer:
        faults = json.load(answer)
    assert faults["experiments"][experiment_id]["fault"]["injected"] == 1


@pytest.fixture
def mode_parameter() -> Iterator[str]:
    """A throwaway parameter standing for the provider mode, tagged for this test only."""
    ssm = client("ssm")
    name = f"/it/{uuid.uuid4().hex[:8]}/payments/provider-mode"
    ssm.put_parameter(Name=name, Value="up", Type="String", Tags=[{"Key": TAG, "Value": name}])
    yield name
    ssm.delete_parameter(Name=name)


def _mode_template(fis: Any, tags: dict[str, str], mode: str, duration: str) -> str:
    return fis.create_experiment_template(
        clientToken=uuid.uuid4().hex,
        description=f"fis-it provider mode {mode}",
        roleArn=ROLE,
        stopConditions=[{"source": "none"}],
        targets={
            "mode": {
                "resourceType": "aws:ssm:parameter",
                "resourceTags": tags,
                "selectionMode": "ALL",
            }
        },
        actions={
            "mode": {
                "actionId": "orderflow:payments:provider-mode",
                "parameters": {"duration": duration, "mode": mode},
                "targets": {"Parameters": "mode"},
            }
        },
    )["experimentTemplate"]["id"]


def _reason(fis: Any, experiment_id: str, action: str) -> str:
    experiment = fis.get_experiment(id=experiment_id)["experiment"]
    reason: str = experiment["actions"][action]["state"]["reason"]
    return reason


def _value(name: str) -> str:
    value: str = client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    return value


def test_provider_mode_is_set_then_restored_when_the_experiment_stops(
    fis: Any, mode_parameter: str, experiments: list[str]
) -> None:
    template_id = _mode_template(fis, {TAG: mode_parameter}, "down", "PT5M")
    experiment_id = _start(fis, template_id, experiments)

    eventually(lambda: _value(mode_parameter) == "down", timeout_s=10, every_s=0.1)
    experiment = fis.get_experiment(id=experiment_id)["experiment"]
    assert experiment["targets"]["mode"]["resourceArns"] == [
        client("ssm").get_parameter(Name=mode_parameter)["Parameter"]["ARN"]
    ]
    eventually(  # counted right after the write
        lambda: "Faults injected: 1." in _reason(fis, experiment_id, "mode"),
        timeout_s=10,
        every_s=0.1,
    )

    fis.stop_experiment(id=experiment_id)
    eventually(lambda: _value(mode_parameter) == "up", timeout_s=10, every_s=0.1)
    eventually(lambda: _status(fis, experiment_id) == "stopped", timeout_s=10, every_s=0.1)


def test_provider_mode_is_restored_when_its_duration_ends(
    fis: Any, mode_parameter: str, experiments: list[str]
) -> None:
    client("ssm").put_parameter(Name=mode_parameter, Value="slow", Overwrite=True)
    template_id = _mode_template(fis, {TAG: mode_parameter}, "down", "PT2S")
    experiment_id = _start(fis, template_id, experiments)
    eventually(lambda: _value(mode_parameter) == "down", timeout_s=10, every_s=0.1)

    eventually(lambda: _status(fis, experiment_id) == "completed", timeout_s=15, every_s=0.2)
    assert _value(mode_parameter) == "slow"  # the value it found, not a default
    history = client("ssm").get_parameter_history(Name=mode_parameter)["Parameters"]
    assert [entry["Value"] for entry in history][-3:] == ["slow", "down", "slow"]


def test_the_stacks_provider_mode_parameter_is_found_by_its_tags(
    fis: Any, outputs: dict[str, str], experiments: list[str]
) -> None:
    name = outputs["ProviderModeParameterName"]
    before = _value(name)
    tags = {"orderflow:service": "payments", "orderflow:parameter": "provider-mode"}
    template_id = _mode_template(fis, tags, "slow", "PT5M")
    experiment_id = _start(fis, template_id, experiments)

    resolved = fis.get_experiment(id=experiment_id)["experiment"]["targets"]["mode"]
    assert resolved["resourceArns"] == [client("ssm").get_parameter(Name=name)["Parameter"]["ARN"]]
    fis.stop_experiment(id=experiment_id)
    eventually(lambda: _status(fis, experiment_id) == "stopped", timeout_s=10, every_s=0.1)
    assert _value(name) == before


def test_provider_mode_templates_are_validated(fis: Any) -> None:
    with pytest.raises(ClientError) as bad_mode:
        _mode_template(fis, {TAG: "x"}, "sideways", "PT1M")

    assert bad_mode.value.response["Error"]["Code"] == "ValidationException"
    assert "mode must be one of up, down, slow" in bad_mode.value.response["Error"]["Message"]
