"""The CLI acts in the stack's region when none is configured, and says in one line what AWS
setup is missing (cli/orderflow_cli/stack.py, main.py)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import boto3
import pytest

from orderflow_cli.main import run
from orderflow_cli.stack import StackRef, stack_region

OUTPUTS = {
    "BusName": "orderflow-dev",
    "OrdersTableName": "Orderflow-Orders",
    "ReconcilerRoleArn": "arn:aws:iam::000000000000:role/reconciler",  # IAM: no region
    "SagaStateMachineArn": "arn:aws:states:eu-west-3:000000000000:stateMachine:Saga",
}


@pytest.fixture
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    # boto3's default session keeps what it resolved when an earlier test made it
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _outputs_file(tmp_path: Path, outputs: dict[str, str]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"Orderflow": outputs}))
    return path


def test_the_stack_region_is_the_one_its_regional_arns_name() -> None:
    assert stack_region(OUTPUTS) == "eu-west-3"
    assert stack_region({"OrdersTableName": "t", "Role": "arn:aws:iam::1:role/r"}) is None


def test_without_a_configured_region_the_cli_acts_in_the_stacks(
    no_aws_setup: None, tmp_path: Path
) -> None:
    stack = StackRef(outputs_file=_outputs_file(tmp_path, OUTPUTS), name="Orderflow")

    assert stack.region == "eu-west-3"
    assert stack.client("sqs").meta.region_name == "eu-west-3"


def test_a_configured_region_wins(
    no_aws_setup: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    stack = StackRef(outputs_file=_outputs_file(tmp_path, OUTPUTS), name="Orderflow")

    assert stack.region == "us-east-1"


def test_missing_credentials_are_one_line_and_exit_2(
    no_aws_setup: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outputs = _outputs_file(tmp_path, OUTPUTS)
    monkeypatch.setattr(sys, "argv", ["orderflow", "--outputs", str(outputs), "dlq"])

    with pytest.raises(SystemExit) as exited:
        run()

    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "Unable to locate credentials" in error and "AWS_ACCESS_KEY_ID" in error
    assert "Traceback" not in error


def test_an_endpoint_that_does_not_answer_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An emulator that is not running (or no AWS_ENDPOINT_URL where AWS is unreachable)."""
    outputs = _outputs_file(tmp_path, OUTPUTS)
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setattr(sys, "argv", ["orderflow", "--outputs", str(outputs), "dlq"])

    with pytest.raises(SystemExit) as exited:
        run()

    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert endpoint in error and "AWS_ENDPOINT_URL" in error
    assert "Traceback" not in error
