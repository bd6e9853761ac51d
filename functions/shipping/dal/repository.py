"""Shipments table access.

shipment  pk=SHIPMENT#<orderId>  sk=SHIPMENT  orderId, shipmentId, status, lines,
                                              taskNotified, createdAt
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure
from shipping.models import Shipment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


def shipment_key(order_id: str) -> dict[str, str]:
    return {"pk": f"SHIPMENT#{order_id}", "sk": "SHIPMENT"}


class ShipmentsRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def get_shipment(self, order_id: str) -> Shipment | None:
        item = self._table.get_item(Key=shipment_key(order_id), ConsistentRead=True).get("Item")
        return None if item is None else Shipment.model_validate(item)

    def schedule(self, shipment: Shipment) -> Shipment:
        """Store the order's shipment unless it has one; returns the stored shipment."""
        item: dict[str, Any] = {
            **shipment_key(shipment.order_id),
            **shipment.model_dump(mode="json", by_alias=True),
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            existing = self.get_shipment(shipment.order_id)
            if existing is None:  # pragma: no cover - shipments are never deleted
                raise
            return existing
        return shipment

    def mark_task_notified(self, order_id: str) -> None:
        self._table.update_item(
            Key=shipment_key(order_id),
            UpdateExpression="SET taskNotified = :true",
            ExpressionAttributeValues={":true": True},
        )
