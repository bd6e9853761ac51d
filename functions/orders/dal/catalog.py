"""Orders' own copy of the catalogue's prices, in the orders table, kept from inventory's
ProductPriced events (orders never reads inventory's table).

Item: pk=CATALOGUE#<sku>  sk=PRICE  sku, price, priceVersion, eventId, pricedAt (event time),
updatedAt. A price is written only if it is newer (a higher `priceVersion`) than the one stored,
so a redelivered or out-of-order older event never overwrites a newer price.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

CATALOGUE_PREFIX = "CATALOGUE#"
PRICE_SK = "PRICE"
_BATCH = 100  # BatchGetItem limit


def price_key(sku: str) -> dict[str, str]:
    return {"pk": f"{CATALOGUE_PREFIX}{sku}", "sk": PRICE_SK}


class ProductCatalog:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = self._resource.Table(table_name)

    def prices(self, skus: Iterable[str]) -> dict[str, Decimal]:
        """Unit price of each SKU orders has heard of; the others are simply absent."""
        wanted = sorted(set(skus))
        prices: dict[str, Decimal] = {}
        for start in range(0, len(wanted), _BATCH):
            keys = [price_key(sku) for sku in wanted[start : start + _BATCH]]
            request: Any = {self._table_name: {"Keys": keys, "ProjectionExpression": "sku, price"}}
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table_name, []):
                    prices[str(item["sku"])] = Decimal(str(item["price"]))
                request = response.get("UnprocessedKeys") or None
        return prices

    def record_price(
        self, sku: str, price: Decimal, version: int, *, event_id: str, priced_at: str
    ) -> bool:
        """Store the price if it is newer than the stored one; False when it is not (the same
        version again, or an older one)."""
        try:
            self._table.put_item(
                Item={
                    **price_key(sku),
                    "sku": sku,
                    "price": price,
                    "priceVersion": version,
                    "eventId": event_id,
                    "pricedAt": priced_at,
                    "updatedAt": datetime.now(UTC).isoformat(),
                },
                ConditionExpression="attribute_not_exists(pk) OR priceVersion < :version",
                ExpressionAttributeValues={":version": version},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True
