from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

import orders.dal
from orders.dal.catalog import CATALOGUE_PREFIX, ProductCatalog
from orders.dal.repository import OrdersRepository
from orders.handlers import place_order
from tests.unit.domain_common.fixtures import (
    REGION,
    TABLE_ENV,
    create_idempotency_table,
    create_rate_limit_table,
    create_table,
)
from tests.unit.domain_common.identity import publish_jwks
from tests.unit.domain_common.seed import seed_catalogue_copy


@pytest.fixture(autouse=True)
def _fresh_orders(aws_env: None) -> Iterator[None]:
    orders.dal.reset()
    place_order.idempotent_placement.cache_clear()
    yield
    orders.dal.reset()
    place_order.idempotent_placement.cache_clear()


@pytest.fixture
def tables(mocked_aws: None) -> None:
    """The orders table (with its stream) holding orders' copy of the seed catalogue's prices
    (as inventory's ProductPriced events leave it), the read model's views table, and the API's
    idempotency and rate-limit tables. Orders reads no other service's table."""
    create_table(TABLE_ENV["ORDERS_TABLE"], stream=True)
    create_table(TABLE_ENV["ORDER_VIEWS_TABLE"])
    create_idempotency_table()
    create_rate_limit_table()
    seed_catalogue_copy(ProductCatalog(TABLE_ENV["ORDERS_TABLE"]))
    publish_jwks()


@pytest.fixture
def repository(tables: None) -> OrdersRepository:
    return OrdersRepository(TABLE_ENV["ORDERS_TABLE"])


class OrdersTable:
    """Raw access to the orders table, to see exactly what the code stored."""

    def __init__(self) -> None:
        self.table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE_ENV["ORDERS_TABLE"])

    def orders(self) -> list[dict[str, Any]]:
        """The order items (``sk`` ``ORDER``), without their payment tokens."""
        return [item for item in self.items("ORDER#") if item["sk"] == "ORDER"]

    def items(self, prefix: str = "") -> list[dict[str, Any]]:
        """Items whose pk starts with `prefix`; orders' catalogue copy (the fixture's seeded
        prices) only when asked for by its prefix, so "nothing written" means no order data."""
        items = self.table.scan()["Items"]
        return sorted(
            (
                item
                for item in items
                if str(item["pk"]).startswith(prefix)
                and (prefix or not str(item["pk"]).startswith(CATALOGUE_PREFIX))
            ),
            key=lambda item: (item["pk"], item["sk"]),
        )

    def outbox(self) -> list[dict[str, Any]]:
        return self.items("OUTBOX#")


@pytest.fixture
def orders_table(tables: None) -> OrdersTable:
    return OrdersTable()


class ViewsTable:
    """Raw access to the read model's table."""

    def __init__(self) -> None:
        resource = boto3.resource("dynamodb", region_name=REGION)
        self.table = resource.Table(TABLE_ENV["ORDER_VIEWS_TABLE"])

    def view(self, order_id: str) -> dict[str, Any]:
        """The order's view item (KeyError if there is none)."""
        return self.table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "VIEW"})["Item"]

    def history(self, order_id: str) -> list[dict[str, Any]]:
        """The order's recorded history entries, in sequence order ([] without a view)."""
        item: dict[str, Any] = (
            self.table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "VIEW"}).get("Item") or {}
        )
        entries: dict[str, dict[str, Any]] = item.get("history", {})
        return sorted(entries.values(), key=lambda entry: entry["sequence"])

    def items(self) -> list[dict[str, Any]]:
        return list(self.table.scan()["Items"])


@pytest.fixture
def views_table(tables: None) -> ViewsTable:
    return ViewsTable()


_SERIALIZER = TypeSerializer()
_sequence = iter(range(10**6, 10**7))


def stream_record(
    event_name: str,
    new_image: dict[str, Any] | None,
    old_image: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    image = new_image or old_image or {}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1736937000.0,
        "Keys": {key: _SERIALIZER.serialize(image[key]) for key in ("pk", "sk")},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        change["NewImage"] = {k: _SERIALIZER.serialize(v) for k, v in new_image.items()}
    if old_image is not None:
        change["OldImage"] = {k: _SERIALIZER.serialize(v) for k, v in old_image.items()}
    return {
        "eventID": f"evt-{change['SequenceNumber']}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": (
            f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE_ENV['ORDERS_TABLE']}"
            "/stream/2025-01-15T00:00:00.000"
        ),
        "dynamodb": change,
    }


@pytest.fixture
def make_stream_record():
    return stream_record
