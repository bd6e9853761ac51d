"""The saga's executions, as the reconciler sees them (Step Functions)."""

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared_kernel import aws

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class SagaExecutions:
    def __init__(self, state_machine_arn: str, client: "SFNClient | None" = None) -> None:
        self._arn = state_machine_arn
        self._client = client or aws.stepfunctions()

    @property
    def state_machine_arn(self) -> str:
        return self._arn

    def execution_arn(self, name: str) -> str:
        """The ARN an execution named `name` of the saga has (known before it is started)."""
        return self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED...; None if it does not exist."""
        try:
            return self._client.describe_execution(executionArn=execution_arn)["status"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise

    def start(self, name: str, execution_input: dict[str, Any]) -> bool:
        """Start the execution `name`; False when it exists already (a name is used once, so a
        repeated start is harmless)."""
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(execution_input)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True
