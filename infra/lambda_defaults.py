"""Shared Lambda defaults: the dependencies layer, service code assets and ``ServiceFunction``.

Every function of every service is a ``ServiceFunction``, so runtime, architecture, tracing,
memory, logging and Powertools settings are decided here once.

Assets are built by CDK *local bundling* (plain Python on this machine, never Docker) and use a
custom asset hash, so CDK rebuilds an asset only when its inputs change: the layer when
``functions/requirements.txt`` changes, a service's code when ``functions/<service>/`` or
``functions/shared_kernel/`` changes. Tests that synthesise with the context
``{"aws:cdk:bundling-stacks": []}`` skip bundling entirely.
"""

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    Tags,
)
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from infra import FUNCTIONS_DIR
from infra.config import DeploymentConfig
from infra.contracts import METRICS_NAMESPACE
from infra.nag import suppress, suppress_lambda_role

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.X86_64
DEFAULT_TIMEOUT = Duration.seconds(10)
SHARED_PACKAGES = ("shared_kernel",)
SERVICE_TAG = "orderflow:service"
"""Tag of every function: its service (its folder under ``functions/``)."""
FUNCTION_TAG = "orderflow:function"
"""Tag of every function: its short kebab-case name (``reserve-inventory``), unique in the
stack. Chaos experiments (AWS FIS ``resourceTags``) select their targets by these two tags."""
"""Packages under ``functions/`` bundled with every service's code by default."""

# The image is never pulled: local bundling always succeeds or raises, so CDK never needs Docker.
_NO_DOCKER = DockerImage.from_registry("unused-local-bundling-only")

# pip options selecting wheels for the Lambda (CPython 3.13 on Linux x86_64) rather than for this
# machine: pydantic-core is compiled code.
_LAMBDA_WHEELS = (
    "--python-version=3.13",
    "--platform=manylinux2014_x86_64",
    "--implementation=cp",
    "--only-binary=:all:",
)


def hash_paths(*paths: Path, salt: str = "") -> str:
    """sha256 over ``salt`` and the relative names and contents of every file under ``paths``.

    ``__pycache__`` folders and ``.pyc`` files are ignored, so running tests does not change it.
    """
    digest = hashlib.sha256(salt.encode())
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(root.parent).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


# Local bundlers implement ILocalBundling; CDK calls ``try_bundle`` with the output directory (and
# the BundlingOptions, which they ignore). Returning True tells CDK that no Docker is needed.


@jsii.implements(ILocalBundling)
class _PipInstall:
    """Installs ``requirements`` into ``<output>/python`` as wheels for the Lambda platform."""

    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *_options: Any, **_: Any) -> bool:
        target = Path(output_dir) / "python"
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target)]
        subprocess.run([*pip, *_LAMBDA_WHEELS, "-r", str(self._requirements)], check=True)
        _remove_runtime_provided(target)
        return True


# The Python Lambda runtime provides boto3 and its dependencies. Copies pulled in by our
# requirements (aws-xray-sdk depends on botocore) would shadow the runtime's and mismatch its
# boto3, so the layer leaves them out.
_RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "dateutil",
    "python_dateutil",
    "six",
)


def _remove_runtime_provided(target: Path) -> None:
    for entry in target.iterdir():
        name = entry.name.split("-", 1)[0].removesuffix(".py")
        if name in _RUNTIME_PROVIDED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


@jsii.implements(ILocalBundling)
class _CopyFolders:
    """Copies each folder into the asset under its own name (``orders/``, ``shared_kernel/``)."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self._folders = tuple(folders)

    def try_bundle(self, output_dir: str, *_options: Any, **_: Any) -> bool:
        for folder in self._folders:
            shutil.copytree(
                folder,
                Path(output_dir) / folder.name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                dirs_exist_ok=True,
            )
        return True


class DependenciesLayer(lambda_.LayerVersion):
    """A layer with the packages of ``functions/requirements.txt``, installed by local pip."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        requirements: Path = FUNCTIONS_DIR / "requirements.txt",
    ) -> None:
        super().__init__(
            scope,
            id,
            code=lambda_.Code.from_asset(
                str(requirements.parent),
                asset_hash_type=AssetHashType.CUSTOM,
                # Changing the pip options (the target platform) rebuilds the layer too.
                asset_hash=hash_paths(requirements, salt=" ".join(_LAMBDA_WHEELS)),
                bundling=BundlingOptions(image=_NO_DOCKER, local=_PipInstall(requirements)),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="orderflow: third-party packages of functions/requirements.txt",
        )


def service_code(service: str, shared: Sequence[str] = SHARED_PACKAGES) -> lambda_.Code:
    """The code asset of one service: ``functions/<service>/`` and the ``shared`` packages.

    Each folder keeps its name inside the asset, so handlers import ``<service>.…`` and
    ``shared_kernel.…`` exactly as the unit tests do (pytest puts ``functions/`` on the path).
    """
    folders = (FUNCTIONS_DIR / service, *(FUNCTIONS_DIR / package for package in shared))
    return lambda_.Code.from_asset(
        str(folders[0]),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=hash_paths(*folders),
        bundling=BundlingOptions(image=_NO_DOCKER, local=_CopyFolders(folders)),
    )


@dataclass(frozen=True)
class FunctionDefaults:
    """What every ``ServiceFunction`` of a stack shares."""

    config: DeploymentConfig
    layer: lambda_.ILayerVersion


class ServiceFunction(Construct):
    """A Lambda function of ``service`` with the project defaults.

    Python 3.13 on x86_64, X-Ray tracing, 256 MB, the dependencies layer, Powertools
    environment (service name, metrics namespace, log level) and a log group with the
    configured retention.

    Attributes:
        function: the Lambda function; grant permissions to it with ``grant_*``.
        log_group: its log group.
        service: its service (``functions/<service>/``), e.g. for its alarms.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        service: str,
        handler: str,
        defaults: FunctionDefaults,
        timeout: Duration = DEFAULT_TIMEOUT,
        environment: Mapping[str, str] | None = None,
        description: str | None = None,
        shared_packages: Sequence[str] = SHARED_PACKAGES,
    ) -> None:
        """
        Args:
            service: folder under ``functions/``; also the Powertools service name.
            handler: dotted path from ``functions/``, e.g. ``orders.handlers.place_order.handler``.
            defaults: the stack's shared config and layer.
            timeout: function timeout; consumers size queue visibility timeouts from it.
            environment: variables added to the Powertools defaults.
            description: shown in the Lambda console.
            shared_packages: packages under ``functions/`` bundled next to the service's own.
        """
        super().__init__(scope, id)
        self.service = service
        config = defaults.config
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=service_code(service, shared_packages),
            handler=handler,
            layers=[defaults.layer],
            memory_size=256,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            description=description,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
        tag_function(self.function, service, function_tag(handler))
        _suppress_findings(self.function)


def tag_function(scope: IConstruct, service: str, name: str) -> None:
    """Tag the function(s) in ``scope`` with their service and short name (the tags
    experiments select by); ``ServiceFunction`` does it for every function it makes."""
    Tags.of(scope).add(SERVICE_TAG, service, include_resource_types=["AWS::Lambda::Function"])
    Tags.of(scope).add(FUNCTION_TAG, name, include_resource_types=["AWS::Lambda::Function"])


def function_tag(handler: str) -> str:
    """A function's short kebab-case name, from its handler's module:
    ``inventory.handlers.reserve_inventory.handler`` -> ``reserve-inventory``."""
    return handler.rsplit(".", 2)[-2].replace("_", "-")


_PINNED_RUNTIME = (
    "Python 3.13 on purpose: the emulator runs functions on .venvs/lambda-python3.13 and the "
    "layer's wheels are built for CPython 3.13; RUNTIME moves with both"
)


def _suppress_findings(function: lambda_.Function) -> None:
    """What cdk-nag reports on every ``ServiceFunction`` and does not apply to them."""
    suppress(function, "AwsSolutions-L1", _PINNED_RUNTIME)
    suppress(function, "Serverless-LambdaLatestVersion", _PINNED_RUNTIME)
    suppress(
        function,
        "Serverless-LambdaDLQ",
        "API Gateway, Step Functions, event source mappings and the seed's provider invoke it "
        "synchronously, and retry or dead-letter what fails; the reconciler's schedule invokes "
        "it asynchronously with no retries on purpose: the next tick is its retry",
    )
    assert function.role is not None  # CDK creates one when none is given
    suppress_lambda_role(
        function.role,
        "X-Ray's PutTraceSegments and PutTelemetryRecords (tracing is active), and a DynamoDB "
        "stream consumer's dynamodb:ListStreams, take no resource-level permissions",
        applies_to=["Resource::*"],
    )
