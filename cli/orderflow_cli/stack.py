"""The deployed stack a command works on: its outputs (from ``outputs.json``), its name, and
boto3 clients with boto3's defaults (``AWS_ENDPOINT_URL`` when set, else AWS)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import boto3
import typer
from botocore.config import Config
from rich.console import Console

OUTPUTS_ENV = "ORDERFLOW_OUTPUTS"
STACK_ENV = "ORDERFLOW_STACK"
DEFAULT_OUTPUTS = Path("outputs.json")
DEFAULT_STACK = "Orderflow"


def import_functions() -> None:
    """Make the app's own code (``functions/``, the root of every Lambda bundle, not a package
    of its own) importable, from the repository this CLI is installed (editable) from: the
    CLI reuses its models and contracts rather than copying them."""
    functions = Path(__file__).resolve().parents[2] / "functions"
    if functions.is_dir() and str(functions) not in sys.path:
        sys.path.append(str(functions))


def console() -> Console:
    """Standard output, as wide as the terminal is when the command prints (``COLUMNS``)."""
    return Console()


def print_error(message: str) -> None:
    """``error: message`` on stderr, unwrapped."""
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` on stderr, unwrapped, and exit with ``code`` (2: bad input or setup;
    1: AWS said no)."""
    print_error(message)
    raise typer.Exit(code)


@dataclass
class StackRef:
    """Where the stack's outputs are; the file is read when a command first needs it."""

    outputs_file: Path
    name: str
    _clients: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    """What a command run works out once and reuses (the stack's resources, its names)."""

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stacks = json.loads(self.outputs_file.read_text())
        except FileNotFoundError:
            fail(
                f"{self.outputs_file} not found: deploy first (`make deploy`), or name the "
                f"outputs file with --outputs or {OUTPUTS_ENV}"
            )
        except json.JSONDecodeError as error:
            fail(f"{self.outputs_file} is not JSON: {error}")
        if not isinstance(stacks, dict) or self.name not in stacks:
            found = ", ".join(stacks) if isinstance(stacks, dict) else "nothing"
            fail(f"{self.outputs_file} has no stack {self.name!r} (it has: {found})")
        return {str(key): str(value) for key, value in stacks[self.name].items()}

    def output(self, key: str) -> str:
        """An output of the stack; a clear error if this deployment has none of that name
        (deployed before the feature that adds it)."""
        if key not in self.outputs:
            fail(
                f"the stack {self.name!r} has no output {key}: deploy this version "
                "(`make deploy`) first"
            )
        return self.outputs[key]

    def resources(self) -> list[dict[str, Any]]:
        """The stack's resources (``ListStackResources``, every page), listed once per command
        run; a ``ClientError`` if there is no such stack or no permission."""
        if "resources" not in self.cache:
            pages = (
                self.client("cloudformation")
                .get_paginator("list_stack_resources")
                .paginate(StackName=self.name)
            )
            self.cache["resources"] = [r for page in pages for r in page["StackResourceSummaries"]]
        resources: list[dict[str, Any]] = self.cache["resources"]
        return resources

    @cached_property
    def region(self) -> str:
        """boto3's region (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile) or, when none
        is set, the one the stack's own ARNs name: the commands act where the stack is."""
        configured = boto3.session.Session().region_name
        if configured:
            return str(configured)
        if found := stack_region(self.outputs):
            return found
        fail(f"no AWS region: set AWS_DEFAULT_REGION (no output of {self.name!r} names one)")

    def client(self, service: str) -> Any:
        """A boto3 client with boto3's defaults (credentials, AWS_ENDPOINT_URL) in ``region``."""
        if service not in self._clients:
            config = Config(retries={"max_attempts": 3, "mode": "standard"})
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service, region_name=self.region, config=config
            )
        return self._clients[service]

    def resource(self, service: str) -> Any:
        return boto3.resource(service, region_name=self.region)  # type: ignore[call-overload]


def stack_region(outputs: dict[str, str]) -> str | None:
    """The region in the first regional ARN among a stack's outputs (``arn:aws:sqs:REGION:``)."""
    for value in outputs.values():
        parts = value.split(":")
        if len(parts) > 4 and parts[0] == "arn" and parts[3]:
            return parts[3]
    return None


def stack_of(ctx: typer.Context) -> StackRef:
    obj = ctx.find_root().obj
    assert isinstance(obj, StackRef)
    return obj
