"""The webhook deliveries received (``webhook-id``), to refuse a replay.

Table ``WEBHOOK_DELIVERIES_TABLE``: ``pk`` = ``DELIVERY#<webhook-id>``, ``expiresAt`` (TTL,
epoch seconds). An id is kept beyond the timestamp tolerance: a replay after that is refused by
its timestamp. An item past ``expiresAt`` that TTL has not deleted yet counts as absent.
"""

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


def delivery_key(webhook_id: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{webhook_id}"}


class WebhookDeliveries:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def remember(self, webhook_id: str, keep_seconds: int) -> bool:
        """Record the delivery; False when this id was received before (a replay)."""
        now = int(time.time())
        try:
            self._table.put_item(
                Item={
                    **delivery_key(webhook_id),
                    "receivedAt": now,
                    "expiresAt": now + keep_seconds,
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def forget(self, webhook_id: str) -> None:
        """Drop the record of a delivery that was not handled (its retry must be accepted)."""
        self._table.delete_item(Key=delivery_key(webhook_id))
