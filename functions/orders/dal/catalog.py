"""Reads unit prices from the inventory service's products table (read-only access)."""

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared_kernel import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

_BATCH = 100  # BatchGetItem limit


class ProductCatalog:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._resource = dynamodb or aws.dynamodb()
        self._table_name = table_name

    def prices(self, skus: Iterable[str]) -> dict[str, Decimal]:
        """Unit price of each known SKU; unknown SKUs are simply absent."""
        wanted = sorted(set(skus))
        prices: dict[str, Decimal] = {}
        for start in range(0, len(wanted), _BATCH):
            keys = [{"pk": f"SKU#{sku}", "sk": "PRODUCT"} for sku in wanted[start : start + _BATCH]]
            request: Any = {self._table_name: {"Keys": keys, "ProjectionExpression": "sku, price"}}
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table_name, []):
                    prices[str(item["sku"])] = Decimal(str(item["price"]))
                request = response.get("UnprocessedKeys") or None
        return prices
