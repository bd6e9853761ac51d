"""Products table access: stock, reservations and the catalogue.

Items (every key is a string):
  product      pk=SKU#<sku>            sk=PRODUCT      name, price, priceVersion, available,
                                                       reserved, sold
  reservation  pk=RESERVATION#<order>  sk=RESERVATION  orderId, status, lines, createdAt, updatedAt

Stock never goes below zero because every decrement is a conditional update
(`available >= :quantity`) inside the same transaction as the reservation item: DynamoDB
applies all of it or none of it, whatever the concurrency. No lock is taken anywhere.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from inventory.errors import InventoryBusy, OutOfStock
from inventory.models import Product, ProductWrite, Reservation, ReservationStatus
from shared_kernel import aws
from shared_kernel.dynamodb import Page, cancellation_codes, scan_stale
from shared_kernel.fencing import Fence, fenced, raise_if_fenced
from shared_kernel.models import OrderLine

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

PRODUCT_SK = "PRODUCT"
RESERVATION_SK = "RESERVATION"
CONDITION_FAILED = "ConditionalCheckFailed"


def product_key(sku: str) -> dict[str, str]:
    return {"pk": f"SKU#{sku}", "sk": PRODUCT_SK}


def reservation_key(order_id: str) -> dict[str, str]:
    return {"pk": f"RESERVATION#{order_id}", "sk": RESERVATION_SK}


class InventoryRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._client = resource.meta.client

    # -- reservations -------------------------------------------------------------------

    def get_reservation(self, order_id: str) -> Reservation | None:
        item = self._table.get_item(Key=reservation_key(order_id), ConsistentRead=True).get("Item")
        return None if item is None else Reservation.model_validate(item)

    def add_reservation(self, reservation: Reservation) -> Reservation:
        """Store a new reservation and move its stock from available to reserved, all or
        nothing; returns the stored reservation (the other one, when a concurrent call for the
        same order stored first).

        Raises OutOfStock (naming the first SKU short of stock, or unknown) and InventoryBusy
        when DynamoDB cancelled the transaction for a conflicting concurrent write.
        """
        order_id = reservation.order_id
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": {**reservation_key(order_id), **_reservation_attributes(reservation)},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        actions += [self._move_stock(line, "available", "reserved") for line in reservation.lines]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes is None:
                raise
            if codes[0] == CONDITION_FAILED:  # a concurrent call of the same order won
                winner = self.get_reservation(order_id)
                if winner is not None:
                    return winner
            for line, code in zip(reservation.lines, codes[1:], strict=False):
                if code == CONDITION_FAILED:
                    raise OutOfStock(line.sku) from exc
            raise InventoryBusy(f"reservation of {order_id} cancelled: {codes}") from exc
        return reservation

    def settle(
        self, reservation: Reservation, target: ReservationStatus, fence: Fence | None = None
    ) -> Reservation:
        """RESERVED -> `target` (RELEASED: reserved stock back to available; COMMITTED:
        reserved stock to sold), on condition that it is still RESERVED; returns the stored
        reservation (the concurrent winner's outcome when the condition failed). With a
        `fence`, the transaction also checks the writer's lease (FencedOff when taken over)."""
        source_field, target_field = _STOCK_MOVES[target]
        order_id = reservation.order_id
        now = _now()
        actions: list[Any] = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": reservation_key(order_id),
                    "UpdateExpression": "SET #status = :target, updatedAt = :now",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":target": target.value,
                        ":reserved": ReservationStatus.RESERVED.value,
                        ":now": now.isoformat(),
                    },
                }
            }
        ]
        actions += [
            self._move_stock(line, source_field, target_field) for line in reservation.lines
        ]
        try:
            self._client.transact_write_items(TransactItems=fenced(actions, fence))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes is None:
                raise
            raise_if_fenced(codes, fence)
            stored = self.get_reservation(order_id) if codes[0] == CONDITION_FAILED else None
            if stored is not None:  # settled concurrently: report what won
                return stored
            raise InventoryBusy(f"settling reservation of {order_id} cancelled: {codes}") from exc
        return reservation.model_copy(update={"status": target, "updated_at": now})

    def live_reservations(
        self, updated_before: datetime, start: dict[str, Any] | None, limit: int
    ) -> Page[Reservation]:
        """One page of a scan for reservations still RESERVED that were last changed before
        `updated_before` (the reconciler's). `limit` is the number of items read."""
        page = scan_stale(
            self._table,
            sk=RESERVATION_SK,
            status=ReservationStatus.RESERVED.value,
            changed_field="updatedAt",
            before=updated_before.isoformat(),
            start=start,
            limit=limit,
        )
        return Page([Reservation.model_validate(item) for item in page.items], page.next_key)

    def _move_stock(self, line: OrderLine, source_field: str, target_field: str) -> dict[str, Any]:
        """Move `line.quantity` units from one counter to another, never below zero."""
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": product_key(line.sku),
                "UpdateExpression": (
                    "SET #source = #source - :quantity, "
                    "#target = if_not_exists(#target, :zero) + :quantity"
                ),
                "ConditionExpression": "attribute_exists(pk) AND #source >= :quantity",
                "ExpressionAttributeNames": {"#source": source_field, "#target": target_field},
                "ExpressionAttributeValues": {":quantity": line.quantity, ":zero": 0},
            }
        }

    # -- catalogue ----------------------------------------------------------------------

    def get_product(self, sku: str) -> Product | None:
        item = self._table.get_item(Key=product_key(sku), ConsistentRead=True).get("Item")
        return None if item is None else Product.model_validate(item)

    def list_products(self) -> list[Product]:
        products: list[Product] = []
        scan_kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :product",
            "ExpressionAttributeValues": {":product": PRODUCT_SK},
        }
        while True:
            page = self._table.scan(**scan_kwargs)
            products += [Product.model_validate(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(products, key=lambda product: product.sku)
            scan_kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def put_product(self, product: Product, *, overwrite: bool) -> ProductWrite:
        """Insert a product. An existing one keeps its stock counters unless `overwrite`; its
        name and price are refreshed. Every write sets a new price version (`priceVersion`
        1, 2, ..., incremented atomically with the price), which ProductPriced carries."""
        attributes = product.model_dump(mode="python")
        if not overwrite:
            try:
                self._table.put_item(
                    Item={**product_key(product.sku), **attributes, "priceVersion": 1},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return ProductWrite(inserted=True, price_version=1)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            attributes = {"name": product.name, "price": product.price}
        names = {f"#{name}": name for name in attributes}
        values: dict[str, Any] = {f":{name}": value for name, value in attributes.items()}
        updated = self._table.update_item(
            Key=product_key(product.sku),
            UpdateExpression="SET "
            + ", ".join(f"#{name} = :{name}" for name in attributes)
            + " ADD priceVersion :one",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        version = int(updated["Attributes"]["priceVersion"])  # type: ignore[arg-type]
        return ProductWrite(inserted=overwrite, price_version=version)


_STOCK_MOVES = {
    ReservationStatus.RELEASED: ("reserved", "available"),
    ReservationStatus.COMMITTED: ("reserved", "sold"),
}
"""Which stock counter a settled reservation's quantities move from and to."""


def _reservation_attributes(reservation: Reservation) -> dict[str, Any]:
    return {
        "orderId": reservation.order_id,
        "status": reservation.status.value,
        "lines": [line.model_dump(by_alias=True) for line in reservation.lines],
        "createdAt": reservation.created_at.isoformat(),
        "updatedAt": reservation.updated_at.isoformat(),
    }


def _now() -> datetime:
    return datetime.now(UTC)
