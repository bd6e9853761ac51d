"""Integration tests run against the embedded emulator. Nothing here skips: the fixtures start
the emulator (`make up`) and deploy the app (`make deploy`) when they are not already there."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.clients import client
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import demo_api_key, zipped

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = Path(__file__).parent / "lambdas"


def _make(target: str) -> None:
    subprocess.run(["make", "-s", target], cwd=ROOT, check=True)


@pytest.fixture(scope="session")
def emulator() -> None:
    _make("up")


@pytest.fixture(scope="session")
def outputs(emulator: None) -> dict[str, str]:
    """The deployed stack's outputs, deploying first (a no-op when nothing changed)."""
    _make("deploy")
    stacks = json.loads((ROOT / "outputs.json").read_text())
    return {key: value for stack in stacks.values() for key, value in stack.items()}


@pytest.fixture(scope="session")
def api_keys(outputs: dict[str, str]) -> dict[str, str]:
    """The value of each demo API key, by plan (``basic``, ``premium``), read from API Gateway
    as the README shows (the stack outputs only their ids)."""
    return {plan: demo_api_key(outputs, plan) for plan in ("basic", "premium")}


@pytest.fixture(scope="session")
def stage_issuer(outputs: dict[str, str]) -> StageIssuer:
    """Mints customer tokens with the dev stage's signing key (``orderflow token``'s code)."""
    return StageIssuer.from_outputs(outputs, client("secretsmanager"))


@pytest.fixture(scope="session")
def lambda_client(emulator: None) -> Any:
    return client("lambda")


@pytest.fixture
def make_function(lambda_client: Any) -> Iterator[Callable[..., str]]:
    """Create a throwaway python3.13 function from tests/integration/lambdas; deleted after."""
    created: list[str] = []

    def make(handler: str = "probe.handler", timeout: int = 3, memory: int = 128) -> str:
        name = f"it-{uuid.uuid4().hex[:12]}"
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role="arn:aws:iam::000000000000:role/lambda-it",
            Handler=handler,
            Code={"ZipFile": zipped(LAMBDAS / "probe.py")},
            Timeout=timeout,
            MemorySize=memory,
        )
        lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)
        created.append(name)
        return name

    yield make
    for name in created:
        lambda_client.delete_function(FunctionName=name)
