"""The attempt log and the messages sent (for redelivery), one table with a TTL.

  attempt  pk=WEBHOOK#<id>  sk=ATTEMPT#<at>#<messageId>#<attempt>   newest last in key order
  message  pk=WEBHOOK#<id>  sk=MESSAGE#<messageId>                  the event, latest status

Both expire (``expiresAt``) after the configured days: a log, not an archive.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared_kernel import aws
from webhooks.models import Attempt, DeliveryMessage

DEFAULT_KEEP_DAYS = 30

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


class DeliveriesTable:
    def __init__(
        self,
        table_name: str,
        *,
        keep_days: int = DEFAULT_KEEP_DAYS,
        dynamodb: "DynamoDBServiceResource | None" = None,
    ) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._keep = timedelta(days=keep_days)

    def _expires(self) -> int:
        return int((datetime.now(UTC) + self._keep).timestamp())

    def record(self, attempt: Attempt) -> None:
        at = attempt.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._table.put_item(
            Item={
                "pk": f"WEBHOOK#{attempt.subscription_id}",
                "sk": f"ATTEMPT#{at}#{attempt.message_id}#{attempt.attempt:03d}",
                **attempt.to_wire(),
                "expiresAt": self._expires(),
            }
        )

    def remember(self, message: DeliveryMessage, status: str) -> None:
        self._table.put_item(
            Item={
                "pk": f"WEBHOOK#{message.subscription_id}",
                "sk": f"MESSAGE#{message.message_id}",
                "status": status,
                "message": json.dumps(message.to_wire()),
                "expiresAt": self._expires(),
            }
        )

    def message(self, subscription_id: str, message_id: str) -> DeliveryMessage | None:
        item = self._table.get_item(
            Key={"pk": f"WEBHOOK#{subscription_id}", "sk": f"MESSAGE#{message_id}"},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else DeliveryMessage.model_validate_json(str(item["message"]))

    def attempts(self, subscription_id: str, limit: int) -> list[Attempt]:
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": f"WEBHOOK#{subscription_id}", ":sk": "ATTEMPT#"},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_attempt(item) for item in response["Items"]]


def _attempt(item: dict[str, Any]) -> Attempt:
    return Attempt.model_validate(
        {k: v for k, v in item.items() if k not in ("pk", "sk", "expiresAt")}
    )
