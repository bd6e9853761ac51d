"""Step Functions task tokens: the saga's AwaitPaymentConfirmation, answered."""

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared_kernel import aws

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")
"""The task timed out or was answered before: nobody is waiting (on AWS ``TaskTimedOut``; the
emulator kit answers the same, docs/resilience/timeouts.md)."""


class StepFunctionsTasks:
    def __init__(self, client: "SFNClient | None" = None) -> None:
        self._client = client or aws.stepfunctions()

    def succeed(self, task_token: str, output: dict[str, object]) -> bool:
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in GONE:
                raise
            return False
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        try:
            self._client.send_task_failure(taskToken=task_token, error=error, cause=cause)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in GONE:
                raise
            return False
        return True
