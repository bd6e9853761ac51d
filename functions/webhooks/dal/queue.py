"""The delivery queue and its DLQ (SQS)."""

import json
from functools import cache
from typing import TYPE_CHECKING

import boto3

from webhooks.models import DeliveryMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BATCH = 10


@cache
def sqs() -> "SQSClient":
    return boto3.client("sqs")


class DeliveryQueues:
    def __init__(self, queue_url: str, dlq_url: str) -> None:
        self._queue_url = queue_url
        self._dlq_url = dlq_url

    def send(self, message: DeliveryMessage, delay_seconds: int = 0) -> None:
        sqs().send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(message.to_wire()),
            DelaySeconds=delay_seconds,
        )

    def send_all(self, messages: list[DeliveryMessage]) -> None:
        """Every message, ten per request; raises when SQS refused any (the caller's record
        fails and is received again: the messages' ids make the duplicates harmless)."""
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            response = sqs().send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "MessageBody": json.dumps(message.to_wire())}
                    for index, message in enumerate(chunk)
                ],
            )
            failed = response.get("Failed") or []
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} delivery messages: {failed[0]}")

    def dead_letter(self, message: DeliveryMessage, reason: str) -> None:
        sqs().send_message(
            QueueUrl=self._dlq_url,
            MessageBody=json.dumps(message.to_wire()),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1024]},
                "subscriptionId": {"DataType": "String", "StringValue": message.subscription_id},
            },
        )
