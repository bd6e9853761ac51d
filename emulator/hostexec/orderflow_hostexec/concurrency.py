"""Behaviour fix: a function's ``ReservedConcurrentExecutions`` in a CloudFormation template is
applied, as on AWS.

LocalStack 2026.3's ``AWS::Lambda::Function`` resource provider declares the property but never
applies it: a deployed function has no reserved concurrency however the template says, and the
bulkheads (docs/resilience/bulkheads.md) would exist on AWS only. Lambda's own
``PutFunctionConcurrency`` works, and LocalStack throttles on it; the patch calls it (or
``DeleteFunctionConcurrency`` when an update removed the property) once the provider has
created or updated the function.

- ``lambda.cfn-reserved-concurrency``: ``LambdaFunctionProvider.create`` / ``update``.
- ``stepfunctions.lambda-service-errors``: a Lambda task (``Resource`` = the function ARN)
  whose invocation Lambda refuses (throttled beyond its reservation:
  ``TooManyRequestsException``) failed with the error name ``Exception``, which no Retry
  names; on AWS it is ``Lambda.TooManyRequestsException`` (retried by the saga's
  ``TRANSIENT_RETRY``). The patch names it ``Lambda.<code>``.
"""

from __future__ import annotations

import functools
from typing import Any

from orderflow_hostexec.patches import Patch, Target

_PROVIDER = "localstack.services.lambda_.resource_providers.aws_lambda_function"
_RESERVED = "ReservedConcurrentExecutions"


def _apply_reservation(request: Any, event: Any, *, updating: bool) -> None:
    from localstack.services.cloudformation.resource_provider import OperationStatus

    if event.status is not OperationStatus.SUCCESS:
        return
    model = event.resource_model or {}
    name = model.get("FunctionName") or request.desired_state.get("FunctionName")
    client = request.aws_client_factory.lambda_
    reserved = request.desired_state.get(_RESERVED)
    if reserved is not None:
        client.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=int(reserved)
        )
    elif updating and (request.previous_state or {}).get(_RESERVED) is not None:
        client.delete_function_concurrency(FunctionName=name)


def apply_reserved_concurrency() -> None:
    from localstack.services.lambda_.resource_providers.aws_lambda_function import (
        LambdaFunctionProvider,
    )

    create, update = LambdaFunctionProvider.create, LambdaFunctionProvider.update

    @functools.wraps(create)
    def create_with_reservation(self: Any, request: Any) -> Any:
        event = create(self, request)
        _apply_reservation(request, event, updating=False)
        return event

    @functools.wraps(update)
    def update_with_reservation(self: Any, request: Any) -> Any:
        event = update(self, request)
        _apply_reservation(request, event, updating=True)
        return event

    LambdaFunctionProvider.create = create_with_reservation
    LambdaFunctionProvider.update = update_with_reservation


_SFN_LAMBDA = "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_lambda"  # noqa: E501


def name_lambda_service_errors() -> None:
    from botocore.exceptions import ClientError
    from localstack.aws.api.core import ServiceException
    from localstack.aws.api.stepfunctions import HistoryEventType, LambdaFunctionFailedEventDetails
    from localstack.services.stepfunctions.asl.component.common.error_name.custom_error_name import (  # noqa: E501
        CustomErrorName,
    )
    from localstack.services.stepfunctions.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_lambda import (  # noqa: E501
        StateTaskLambda,
    )
    from localstack.services.stepfunctions.asl.eval.event.event_detail import EventDetails

    target = Target(_SFN_LAMBDA, "StateTaskLambda._from_error", parameters=("self", "env", "ex"))
    problem = target.mismatch()
    if problem:
        raise RuntimeError(f"orderflow patch 'stepfunctions.lambda-service-errors': {problem}")
    original = StateTaskLambda._from_error

    @functools.wraps(original)
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ServiceException):
            code, message = ex.code, ex.message
        elif isinstance(ex, ClientError):
            code, message = ex.response["Error"]["Code"], ex.response["Error"]["Message"]
        else:
            return original(self, env, ex)
        error = f"Lambda.{code}"  # LocalStack says "Exception"; Lambda's error, as on AWS
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                    error=error, cause=message
                )
            ),
        )

    StateTaskLambda._from_error = _from_error


PATCHES = (
    Patch(
        name="lambda.cfn-reserved-concurrency",
        kind="behaviour",
        purpose="a template's ReservedConcurrentExecutions is applied to the function, as on AWS",
        targets=(
            Target(_PROVIDER, "LambdaFunctionProvider", shape="class"),
            Target(_PROVIDER, "LambdaFunctionProvider.create", parameters=("self", "request")),
            Target(_PROVIDER, "LambdaFunctionProvider.update", parameters=("self", "request")),
            Target(
                "localstack.services.cloudformation.resource_provider",
                "OperationStatus",
                shape="class",
            ),
        ),
        apply=apply_reserved_concurrency,
    ),
)

AFTER_PERFORMANCE_HOOKS = (
    Patch(
        name="stepfunctions.lambda-service-errors",
        kind="behaviour",
        purpose="a Lambda task refused by Lambda (throttled) fails as Lambda.<code>, as on AWS",
        # The task module is imported when applied, not when checked: importing it earlier
        # would bind LocalStack's boto_client_for before 'stepfunctions.task-clients' (applied
        # before this one: registry.ALL) replaces it. Its shape is checked when applied.
        targets=(Target("localstack.aws.api.core", "ServiceException", shape="class"),),
        apply=name_lambda_service_errors,
    ),
)
