"""Tells the waiting saga (Step Functions task token) that its shipment is scheduled."""

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shipping.errors import TaskNotificationFailed

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# The saga stopped waiting (timed out or ended): retrying cannot help.
TASK_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist"})
# The token is not a token: the message is malformed, let it fail (and reach the DLQ).
MALFORMED = frozenset({"InvalidToken", "InvalidOutput", "ValidationException"})


class SagaNotifier:
    def __init__(self, sfn_client: "SFNClient") -> None:
        self._client = sfn_client

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        """send_task_success; False when the task no longer exists or timed out."""
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in TASK_GONE:
                return False
            if code in MALFORMED:
                raise
            raise TaskNotificationFailed(f"send_task_success failed: {code}") from exc
        return True
