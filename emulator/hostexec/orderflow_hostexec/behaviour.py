"""Behaviour fixes: where LocalStack 2026.3 does something other than AWS, and the app notices.

Unlike the performance hooks (``telemetry``, ``stepfunctions``, ``gateway``, ``event_sources``),
each of these changes what the emulator does, to do what AWS does. Declared in ``PATCHES``
and applied by ``startup.py`` after every patch's targets have been checked (``patches.py``).

- ``lambda.custom-log-groups``: Lambda writes a function's logs to ``LoggingConfig.LogGroup``
  when the function names one (CDK does, for a log group with a retention); LocalStack always
  uses ``/aws/lambda/<name>``, so the app's log groups stayed empty.
- ``stepfunctions.closed-task-tokens``: ``SendTaskSuccess`` / ``SendTaskFailure`` /
  ``SendTaskHeartbeat`` with the token of a task that is no longer waiting (it timed out, or
  was answered) fail with ``TaskTimedOut``, as on Step Functions ("the task token has either
  expired or the task associated with the token has already been closed"). LocalStack
  accepted the answer without a word while the execution still ran (its callback endpoints'
  ``consumer_error`` is never set), and answered ``InvalidToken`` once the execution had
  ended: the shipping worker treats ``InvalidToken`` as a malformed request, so a late answer
  to a saga that had compensated went to the shipment DLQ instead of being dropped.
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.patches import Patch, Target

_EXECUTION_ENVIRONMENT = "localstack.services.lambda_.invocation.execution_environment"


_FUNCTIONS_BY_LOG_GROUP: dict[str, str] = {}
LAMBDA_GROUP_PREFIX = "/aws/lambda/"


def function_of_log_group(group: str) -> str:
    """The function whose logs a group receives: the one whose ``LoggingConfig.LogGroup`` it
    is (seen when that function's logs were written), else Lambda's default
    ``/aws/lambda/<function>``. A group shared by several functions names the last one seen."""
    return _FUNCTIONS_BY_LOG_GROUP.get(group) or group.removeprefix(LAMBDA_GROUP_PREFIX)


def honour_custom_log_groups() -> None:
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment

    default = ExecutionEnvironment.get_log_group_name

    def get_log_group_name(self: Any) -> str:
        configured = (self.function_version.config.logging_config or {}).get("LogGroup")
        if configured:
            _FUNCTIONS_BY_LOG_GROUP[configured] = self.function_version.id.function_name
        return configured or default(self)

    ExecutionEnvironment.get_log_group_name = get_log_group_name


def _configuration_has_logging_config() -> str | None:
    from dataclasses import fields

    from localstack.services.lambda_.invocation.lambda_models import VersionFunctionConfiguration

    if "logging_config" not in {field.name for field in fields(VersionFunctionConfiguration)}:
        return "VersionFunctionConfiguration has no field logging_config"
    return None


_SFN = "localstack.services.stepfunctions"
_CALLBACK = f"{_SFN}.asl.eval.callback.callback"
_ANSWERS = ("send_task_success", "send_task_failure", "send_task_heartbeat")


def close_answered_task_tokens() -> None:
    from localstack.aws.api.stepfunctions import InvalidToken, TaskTimedOut
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )
    from localstack.services.stepfunctions.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
    )
    from localstack.services.stepfunctions.provider import StepFunctionsProvider

    integration_pattern = StateTaskServiceCallback._eval_integration_pattern

    def _eval_integration_pattern(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: Any,
        state_credentials: Any,
    ) -> None:
        token = (env.states.context_object.context_object_data.get("Task") or {}).get("Token")
        try:
            integration_pattern(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )
        finally:
            # the task waits no more (answered, timed out, failed): a later answer is late
            if token and (endpoint := env.callback_pool_manager.get(token)) is not None:
                endpoint.report(CallbackConsumerTimeout())

    StateTaskServiceCallback._eval_integration_pattern = _eval_integration_pattern

    def knew(provider: Any, context: Any, token: str) -> bool:
        """Whether any execution, running or ended, issued ``token``."""
        for execution in provider._get_executions(context):
            worker = getattr(execution, "exec_worker", None)
            pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
            if pool is not None and pool.get(token) is not None:
                return True
        return False

    def closing(answer: Any) -> Any:
        def send(self: Any, context: Any, task_token: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return answer(self, context, task_token, *args, **kwargs)
            except InvalidToken:
                if knew(self, context, task_token):  # its execution has ended
                    raise TaskTimedOut(
                        "Task Timed Out: 'Provided task does not exist anymore'"
                    ) from None
                raise

        return send

    for name in _ANSWERS:
        setattr(StepFunctionsProvider, name, closing(getattr(StepFunctionsProvider, name)))


def _answers_take_a_token() -> str | None:
    import inspect

    from localstack.services.stepfunctions.provider import StepFunctionsProvider

    for name in _ANSWERS:
        parameters = list(inspect.signature(getattr(StepFunctionsProvider, name)).parameters)
        if parameters[:3] != ["self", "context", "task_token"]:
            return f"StepFunctionsProvider.{name} takes ({', '.join(parameters)})"
        if "InvalidToken" not in inspect.getsource(getattr(StepFunctionsProvider, name)):
            return f"StepFunctionsProvider.{name} no longer raises InvalidToken"
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
    Patch(
        name="stepfunctions.closed-task-tokens",
        kind="behaviour",
        purpose="answering a task token whose task no longer waits fails with TaskTimedOut",
        targets=(
            Target(
                f"{_SFN}.asl.component.state.state_execution.state_task.service."
                "state_task_service_callback",
                "StateTaskServiceCallback._eval_integration_pattern",
                parameters=(
                    "self",
                    "env",
                    "resource_runtime_part",
                    "normalised_parameters",
                    "state_credentials",
                ),
            ),
            Target(_CALLBACK, "CallbackEndpoint.report", parameters=("self", "consumer_error")),
            Target(_CALLBACK, "CallbackConsumerTimeout", shape="class"),
            Target(f"{_SFN}.provider", "StepFunctionsProvider._get_executions"),
            *(Target(f"{_SFN}.provider", f"StepFunctionsProvider.{name}") for name in _ANSWERS),
            Target("localstack.aws.api.stepfunctions", "TaskTimedOut", shape="class"),
            Target("localstack.aws.api.stepfunctions", "InvalidToken", shape="class"),
        ),
        apply=close_answered_task_tokens,
        check=_answers_take_a_token,
    ),
)
