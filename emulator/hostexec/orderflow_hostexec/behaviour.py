"""Behaviour fixes: where LocalStack 2026.3 does something other than AWS, and the app notices.

Unlike the performance hooks (``telemetry``, ``stepfunctions``, ``gateway``, ``event_sources``),
each of these changes what the emulator does, to do what AWS does. Declared in ``PATCHES``
and applied by ``startup.py`` after every patch's targets have been checked (``patches.py``).

- ``lambda.custom-log-groups``: Lambda writes a function's logs to ``LoggingConfig.LogGroup``
  when the function names one (CDK does, for a log group with a retention); LocalStack always
  uses ``/aws/lambda/<name>``, so the app's log groups stayed empty.
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.patches import Patch, Target

_EXECUTION_ENVIRONMENT = "localstack.services.lambda_.invocation.execution_environment"


def honour_custom_log_groups() -> None:
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment

    default = ExecutionEnvironment.get_log_group_name

    def get_log_group_name(self: Any) -> str:
        configured = (self.function_version.config.logging_config or {}).get("LogGroup")
        return configured or default(self)

    ExecutionEnvironment.get_log_group_name = get_log_group_name


def _configuration_has_logging_config() -> str | None:
    from dataclasses import fields

    from localstack.services.lambda_.invocation.lambda_models import VersionFunctionConfiguration

    if "logging_config" not in {field.name for field in fields(VersionFunctionConfiguration)}:
        return "VersionFunctionConfiguration has no field logging_config"
    return None


PATCHES = (
    Patch(
        name="lambda.custom-log-groups",
        kind="behaviour",
        purpose="a function's logs go to its LoggingConfig.LogGroup, as on Lambda",
        targets=(
            Target(_EXECUTION_ENVIRONMENT, "ExecutionEnvironment", shape="class"),
            Target(
                _EXECUTION_ENVIRONMENT,
                "ExecutionEnvironment.get_log_group_name",
                parameters=("self",),
            ),
            Target(
                "localstack.services.lambda_.invocation.lambda_models",
                "VersionFunctionConfiguration",
                shape="class",
            ),
        ),
        apply=honour_custom_log_groups,
        check=_configuration_has_logging_config,
    ),
)
