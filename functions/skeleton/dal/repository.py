"""The skeleton's DynamoDB table, behind a small class whose boto3 client can be injected.

One table holds three kinds of records, told apart by the prefix of the key ``pk``:
``item#<id>``, ``event#<event id>`` and ``job#<id>``.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from skeleton.models import Item, JobMessage, Ping
from skeleton.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class SkeletonRepository:
    """Reads and writes the skeleton's records."""

    def __init__(self, table_name: str, client: "DynamoDBClient | None" = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb")

    def put_item(self, item: Item) -> None:
        self._put(f"item#{item.id}", item.model_dump(mode="json"))

    def get_item(self, item_id: str) -> Item | None:
        record = self._get(f"item#{item_id}")
        return Item.model_validate(record) if record else None

    def put_ping(self, ping: Ping) -> None:
        self._put(f"event#{ping.event_id}", ping.model_dump(mode="json"))

    def put_job(self, job: JobMessage) -> None:
        self._put(f"job#{job.id}", job.model_dump(mode="json", exclude={"fail"}))

    def _put(self, pk: str, attributes: dict[str, Any]) -> None:
        record = {"pk": pk, **attributes}
        self._client.put_item(
            TableName=self._table_name,
            Item={name: _serializer.serialize(value) for name, value in record.items()},
        )

    def _get(self, pk: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table_name, Key={"pk": {"S": pk}}, ConsistentRead=True
        )
        record = response.get("Item")
        if record is None:
            return None
        return {name: _deserializer.deserialize(value) for name, value in record.items()}


@cache
def default_repository() -> SkeletonRepository:
    """The repository of this execution environment: created (with its client) on first use."""
    return SkeletonRepository(get_settings().table_name)
