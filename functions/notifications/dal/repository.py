"""Notifications and audit tables.

  notification  pk=NOTIFICATION#<eventId>  sk=NOTIFICATION          (NOTIFICATIONS_TABLE)
  audit entry   pk=ORDER#<orderId>         sk=EVENT#<time>#<eventId> (AUDIT_TABLE)

Both writes are conditional puts keyed by the event id: a redelivered message changes nothing.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from notifications.models import Notification
from shared_kernel import aws
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table


def _put_once(table: "Table", item: dict[str, Any]) -> bool:
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


class NotificationsRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def save(self, notification: Notification) -> bool:
        """Store the notification; False if this event was already notified."""
        item = {
            "pk": f"NOTIFICATION#{notification.event_id}",
            "sk": "NOTIFICATION",
            **notification.model_dump(mode="json", by_alias=True),
        }
        return _put_once(self._table, item)


class AuditRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def append(self, event: CloudEvent) -> bool:
        """Append the whole event to its order's trail; False if already there."""
        time = str(event.to_dict()["time"])
        item = {
            "pk": f"ORDER#{event.subject}",
            "sk": f"EVENT#{time}#{event.id}",
            "eventId": event.id,
            "type": event.type,
            "source": event.source,
            "time": time,
            "correlationId": event.correlationid,
            "event": event.to_json(),
        }
        return _put_once(self._table, item)
