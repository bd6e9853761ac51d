"""What the kit itself relies on inside LocalStack, and the one route it adds.

Checked at start-up like every patch (``patches.py``), so that a LocalStack that moved any of
it refuses to start instead of failing later:

- ``kit.lambda-executor``: the ``RuntimeExecutor`` contract the host executor implements
  (``executor.py``), and the LocalStack objects it reads;
- ``kit.offline-installs``: DynamoDB Local and a Java runtime are where LocalStack's
  installers look, i.e. where ``ctl.py provision`` put them (else LocalStack downloads them);
- ``kit.settings``: every LocalStack setting ``ctl.py`` passes (named in
  ``ORDERFLOW_LOCALSTACK_SETTINGS``) is one LocalStack still reads;
- ``kit.patches-endpoint``: ``GET /_orderflow/patches`` on the gateway answers what was
  applied (``ctl.py up`` and tests/integration/test_emulator_patches.py read it).
"""

from __future__ import annotations

import inspect
import os
from importlib.metadata import version
from typing import Any

from orderflow_hostexec import patches
from orderflow_hostexec.patches import Patch, Target

PATCHES_PATH = "/_orderflow/patches"
SETTINGS_VARIABLE = "ORDERFLOW_LOCALSTACK_SETTINGS"

_INVOCATION = "localstack.services.lambda_.invocation"


def _executor_implements_the_contract() -> str | None:
    from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor

    from orderflow_hostexec.executor import HostRuntimeExecutor

    if missing := sorted(HostRuntimeExecutor.__abstractmethods__):
        return f"RuntimeExecutor has abstract methods the host executor lacks: {missing}"
    for name in sorted(RuntimeExecutor.__abstractmethods__):
        expected = tuple(inspect.signature(getattr(RuntimeExecutor, name)).parameters)
        ours = tuple(inspect.signature(getattr(HostRuntimeExecutor, name)).parameters)
        if ours != expected:
            return f"RuntimeExecutor.{name} takes ({', '.join(expected)}), ours ({', '.join(ours)})"
    return None


def _installs_are_provisioned() -> str | None:
    from localstack.packages.java import java_package
    from localstack.services.dynamodb.packages import dynamodblocal_package

    installer = dynamodblocal_package.get_installer()
    if not installer.get_installed_dir():
        return "LocalStack finds no DynamoDB Local where `ctl.py provision` put it"
    if not os.path.exists(installer.get_ddb_agent_jar_path()):
        return f"no {installer.get_ddb_agent_jar_path()} (ctl.py builds it from ddb_agent/)"
    if not java_package.get_installer(installer.java_version).get_installed_dir():
        return f"LocalStack finds no Java {installer.java_version} where `ctl.py provision` put it"
    return None


def _settings_are_read() -> str | None:
    from localstack import config

    source = inspect.getsource(config)
    names = filter(None, os.environ.get(SETTINGS_VARIABLE, "").split(","))
    unknown = [
        name
        for name in names
        if not hasattr(config, name)
        and name not in config.CONFIG_ENV_VARS
        and f'"{name}"' not in source
    ]
    if unknown:
        return f"localstack.config no longer reads {', '.join(unknown)} (set by ctl.py)"
    return None


def _serve_report(request: Any, **kwargs: Any) -> dict[str, Any]:
    return {"localstack-core": version("localstack-core"), "patches": patches.applied()}


def register_patches_endpoint() -> None:
    from localstack.services.edge import ROUTER

    ROUTER.add(PATCHES_PATH, endpoint=_serve_report, methods=["GET"])


PATCHES = (
    Patch(
        name="kit.lambda-executor",
        kind="kit",
        purpose="the RuntimeExecutor contract and LocalStack objects the host executor uses",
        targets=(
            Target(f"{_INVOCATION}.runtime_executor", "RuntimeExecutor", shape="class"),
            Target(
                f"{_INVOCATION}.runtime_executor",
                "RuntimeExecutor.__init__",
                parameters=("self", "id", "function_version"),
            ),
            Target(f"{_INVOCATION}.runtime_executor", "LambdaRuntimeException", shape="class"),
            Target(f"{_INVOCATION}.plugins", "RuntimeExecutorPlugin", shape="class"),
            Target(f"{_INVOCATION}.lambda_models", "FunctionVersion", shape="class"),
            Target(f"{_INVOCATION}.lambda_models", "InvocationResult", shape="class"),
            Target("localstack.services.dynamodb.server", "DynamodbServer.get"),
            Target("localstack.config", "DYNAMODB_SHARE_DB", shape="object"),
            Target("localstack.config", "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", shape="object"),
            Target("localstack.config", "GATEWAY_LISTEN", shape="object"),
        ),
        check=_executor_implements_the_contract,
    ),
    Patch(
        name="kit.offline-installs",
        kind="kit",
        purpose="DynamoDB Local and Java are where LocalStack looks (ctl.py provision)",
        targets=(
            Target("localstack.services.dynamodb.packages", "dynamodblocal_package", "object"),
            Target(
                "localstack.services.dynamodb.packages",
                "DynamoDBLocalPackageInstaller.get_ddb_agent_jar_path",
                parameters=("self",),
            ),
            Target("localstack.packages.java", "java_package", shape="object"),
        ),
        check=_installs_are_provisioned,
    ),
    Patch(
        name="kit.settings",
        kind="kit",
        purpose=f"every LocalStack setting ctl.py passes ({SETTINGS_VARIABLE}) is still read",
        targets=(Target("localstack.config", "CONFIG_ENV_VARS", shape="object"),),
        check=_settings_are_read,
    ),
    Patch(
        name="kit.patches-endpoint",
        kind="kit",
        purpose=f"GET {PATCHES_PATH} answers which patches this emulator applied",
        targets=(Target("localstack.services.edge", "ROUTER.add"),),
        apply=register_patches_endpoint,
    ),
)
