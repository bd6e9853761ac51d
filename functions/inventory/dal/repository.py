"""Products table access: stock, reservations and the catalogue.

Items (every key is a string):
  product      pk=SKU#<sku>            sk=PRODUCT      name, price, priceVersion, available,
                                                       reserved, sold, shards (hot SKUs)
  stock shard  pk=SHARD#<sku>#<i>      sk=SHARD        available, reserved, sold (hot SKUs)
  reservation  pk=RESERVATION#<order>  sk=RESERVATION  orderId, status, lines, takes, attempts,
                                                       createdAt, updatedAt

Stock never goes below zero because every decrement is a conditional update
(`available >= :quantity`) inside the same transaction as the reservation item: DynamoDB
applies all of it or none of it, whatever the concurrency. No lock is taken anywhere.

A hot SKU (`shards` = N on its product item) keeps its stock on N shard items, each with a
partition key of its own, so its writes spread over N keys instead of one (on AWS one key
takes at most 1000 write units per second). A reservation takes a line from one shard (a
random start, then the next ones), records it in `takes`, and release and commit move those
units on the same shards (`inventory.sharding`, functions/inventory/README.md). Where each
attempt takes a line from is planned by `inventory.stock_plan`; this class does the I/O.
"""

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from inventory.errors import InventoryBusy
from inventory.models import (
    Product,
    ProductWrite,
    Reservation,
    ReservationStatus,
    StockTake,
)
from inventory.sharding import spread
from inventory.stock_plan import LinePlan, attempt_bound
from shared_kernel import aws
from shared_kernel.dynamodb import Page, cancellation_codes, scan_stale
from shared_kernel.fencing import Fence, fenced, raise_if_fenced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

PRODUCT_SK = "PRODUCT"
SHARD_SK = "SHARD"
RESERVATION_SK = "RESERVATION"
CONDITION_FAILED = "ConditionalCheckFailed"
COUNTERS = ("available", "reserved", "sold")
CONVERSION_ATTEMPTS = 5


def product_key(sku: str) -> dict[str, str]:
    return {"pk": f"SKU#{sku}", "sk": PRODUCT_SK}


def shard_key(sku: str, shard: int) -> dict[str, str]:
    return {"pk": f"SHARD#{sku}#{shard}", "sk": SHARD_SK}


def stock_key(take: StockTake) -> dict[str, str]:
    """The item a take moves units on: a shard, or the product item."""
    return product_key(take.sku) if take.shard is None else shard_key(take.sku, take.shard)


def reservation_key(order_id: str) -> dict[str, str]:
    return {"pk": f"RESERVATION#{order_id}", "sk": RESERVATION_SK}


class InventoryRepository:
    def __init__(
        self,
        table_name: str,
        dynamodb: "DynamoDBServiceResource | None" = None,
        rng: random.Random | None = None,
    ) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._client = resource.meta.client
        self._rng = rng or random.Random()
        self._shards: dict[str, int] = {}
        """Shard count per SKU as this environment last saw it (absent: assumed 0). A SKU
        that became hot since is found out by the failed condition of the product item."""

    # -- reservations -------------------------------------------------------------------

    def get_reservation(self, order_id: str) -> Reservation | None:
        item = self._table.get_item(Key=reservation_key(order_id), ConsistentRead=True).get("Item")
        return None if item is None else Reservation.model_validate(item)

    def add_reservation(self, reservation: Reservation) -> Reservation:
        """Store a new reservation and move its stock from available to reserved, all or
        nothing; returns the stored reservation, with where each line's units came from
        (`takes`), or the other one when a concurrent call for the same order stored first.

        A hot SKU's line is taken from one shard, a random one first, then the next ones in
        order (one transaction each: a failed condition is the only way to learn a shard is
        short, nothing is read beforehand). When no single shard can satisfy the line, the
        SKU's sources are read (consistently) and the line is split over several of them in
        one transaction, each with its condition; only when they hold too few units in all is
        it OutOfStock. `inventory.stock_plan` decides where each attempt takes from; this
        method reads and writes.

        Raises OutOfStock (naming the first SKU short of stock, or unknown) and InventoryBusy
        when DynamoDB cancelled the transaction for a conflicting concurrent write.
        """
        order_id = reservation.order_id
        plans = [
            LinePlan.start(line, self._shards.get(line.sku, 0), self._rng.randrange)
            for line in reservation.lines
        ]
        attempt = 0
        while attempt < attempt_bound(plans):
            attempt += 1
            per_plan = [plan.takes() for plan in plans]
            stored = reservation.model_copy(
                update={
                    "takes": [take for takes in per_plan for take in takes],
                    "attempts": attempt,
                }
            )
            actions: list[Any] = [
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": {**reservation_key(order_id), **_reservation_attributes(stored)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
            owners: list[LinePlan] = []
            for plan, takes in zip(plans, per_plan, strict=True):
                for take in takes:
                    guard = not plan.shards  # a product believed not sharded
                    actions.append(self._move_stock(take, "available", "reserved", guard=guard))
                    owners.append(plan)
            try:
                self._client.transact_write_items(TransactItems=actions)
            except ClientError as exc:
                reasons = _cancellation_reasons(exc)
                if reasons is None:
                    raise
                if reasons[0][0] == CONDITION_FAILED:  # a concurrent call of the same order won
                    winner = self.get_reservation(order_id)
                    if winner is not None:
                        return winner
                failed: dict[int, tuple[LinePlan, dict[str, Any] | None]] = {}
                for plan, (code, item) in zip(owners, reasons[1:], strict=False):
                    if code == CONDITION_FAILED:
                        failed.setdefault(id(plan), (plan, item))
                if not failed:
                    codes = [code for code, _ in reasons]
                    raise InventoryBusy(f"reservation of {order_id} cancelled: {codes}") from exc
                for plan, item in failed.values():
                    self._next_source(plan, item)
                continue
            return stored
        raise InventoryBusy(f"reservation of {order_id} gave up after {attempt} attempts")

    def _next_source(self, plan: LinePlan, item: dict[str, Any] | None) -> None:
        """After `plan`'s take failed its condition, read what the plan needs to go on: the
        next shard, a split, or OutOfStock (raised by the plan)."""
        sku = plan.line.sku
        if not plan.shards:
            # the product item refused: out of stock, unknown, or hot since this environment
            # last looked (the failed item comes back with the cancellation; an emulator
            # that does not return it costs one read)
            if item is None:
                item = self._table.get_item(Key=product_key(sku), ConsistentRead=True).get("Item")
            shards = 0 if item is None else _number(item.get("shards"))
            self._shards[sku] = shards
            plan.product_refused(shards, self._rng.randrange)
        elif not plan.next_shard():
            plan.split_over(self._levels(sku, plan.shards))

    def _levels(self, sku: str, shards: int) -> dict[int | None, int]:
        """Available units per source of a hot SKU (None: the product item), read
        consistently in one BatchGetItem."""
        sources: list[int | None] = [None, *range(shards)]
        items = self._batch_get([_source_key(sku, source) for source in sources])
        return {
            source: _number(items.get(_source_key(sku, source)["pk"], {}).get("available"))
            for source in sources
        }

    def _batch_get(self, keys: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
        """Items by pk, read consistently (at most 100 keys)."""
        found: dict[str, dict[str, Any]] = {}
        if not keys:
            return found
        request: dict[str, Any] = {self._table_name: {"Keys": keys, "ConsistentRead": True}}
        while request:
            answer = self._client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self._table_name, []):
                found[str(item["pk"])] = item
            request = answer.get("UnprocessedKeys") or {}
        return found

    def settle(
        self, reservation: Reservation, target: ReservationStatus, fence: Fence | None = None
    ) -> Reservation:
        """RESERVED -> `target` (RELEASED: reserved stock back to available; COMMITTED:
        reserved stock to sold), on the very items the units were taken from (`takes`), on
        condition that it is still RESERVED; returns the stored reservation (the concurrent
        winner's outcome when the condition failed). With a `fence`, the transaction also
        checks the writer's lease (FencedOff when taken over)."""
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
            self._move_stock(take, source_field, target_field) for take in reservation.sources()
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

    def _move_stock(
        self, take: StockTake, source_field: str, target_field: str, *, guard: bool = False
    ) -> dict[str, Any]:
        """Move `take.quantity` units from one counter to another of the take's item, never
        below zero. `guard`: the item must also not be sharded (a product this environment
        believes is not hot); when the condition fails DynamoDB returns the item, which tells
        out of stock from hot."""
        condition = "attribute_exists(pk) AND #source >= :quantity"
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": stock_key(take),
            "UpdateExpression": (
                "SET #source = #source - :quantity, "
                "#target = if_not_exists(#target, :zero) + :quantity"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#source": source_field, "#target": target_field},
            "ExpressionAttributeValues": {":quantity": take.quantity, ":zero": 0},
        }
        if guard:
            update["ConditionExpression"] = f"{condition} AND attribute_not_exists(shards)"
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": update}

    # -- catalogue ----------------------------------------------------------------------

    def get_product(self, sku: str) -> Product | None:
        """The product, a hot SKU's counters summed over its product item and shards."""
        item = self._table.get_item(Key=product_key(sku), ConsistentRead=True).get("Item")
        if item is None:
            return None
        shards = _number(item.get("shards"))
        found = self._batch_get([shard_key(sku, shard) for shard in range(shards)])
        return _product(item, list(found.values()))

    def shard_levels(self, sku: str) -> list[dict[str, int]]:
        """A hot SKU's counters per shard (empty for a SKU that is not sharded)."""
        product = self.get_product(sku)
        if product is None or not product.shards:
            return []
        found = self._batch_get([shard_key(sku, shard) for shard in range(product.shards)])
        return [
            {
                name: _number(found.get(shard_key(sku, shard)["pk"], {}).get(name))
                for name in COUNTERS
            }
            for shard in range(product.shards)
        ]

    def list_products(self) -> list[Product]:
        """Every product; a hot SKU's counters are the sums over its items (one scan)."""
        items: list[dict[str, Any]] = []
        scan_kwargs: dict[str, Any] = {
            "FilterExpression": "sk IN (:product, :shard)",
            "ExpressionAttributeValues": {":product": PRODUCT_SK, ":shard": SHARD_SK},
        }
        while True:
            page = self._table.scan(**scan_kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            scan_kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        shards: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            if item["sk"] == SHARD_SK:
                shards.setdefault(str(item["pk"]).split("#")[1], []).append(item)
        products = [
            _product(item, shards.get(str(item["sku"]), []))
            for item in items
            if item["sk"] == PRODUCT_SK
        ]
        return sorted(products, key=lambda product: product.sku)

    def put_product(self, product: Product, *, overwrite: bool) -> ProductWrite:
        """Insert a product. An existing one keeps its stock counters unless `overwrite`; its
        name and price are refreshed. Every write sets a new price version (`priceVersion`
        1, 2, ..., incremented atomically with the price), which ProductPriced carries.

        `product.shards` >= 2 makes the SKU hot: a new product's stock is spread over its
        shards; an existing one's available units move into the shards in one transaction
        (`make_hot`); with `overwrite`, the shards are set to the seed's stock. A hot SKU stays
        hot (a seed without `shards` keeps it so); its shard count cannot change."""
        attributes = product.model_dump(mode="python")
        if not overwrite:
            if self._insert(product):
                return ProductWrite(inserted=True, price_version=1)
            attributes = {"name": product.name, "price": product.price}
        else:
            stored = self._table.get_item(
                Key=product_key(product.sku), ConsistentRead=True, ProjectionExpression="shards"
            ).get("Item")
            shards = _same_shards(product, _number((stored or {}).get("shards")))
            attributes["shards"] = shards
            if shards:
                attributes.update(available=0, reserved=0, sold=0)
                self._reset_shards(product, shards)
            else:
                attributes.pop("shards")
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
        if product.shards and not overwrite:
            self.make_hot(product.sku, product.shards)
        return ProductWrite(inserted=overwrite, price_version=version)

    def _insert(self, product: Product) -> bool:
        """Insert a product that does not exist yet (with its shards when hot); False when
        it exists."""
        attributes = product.model_dump(mode="python")
        if not product.shards:
            attributes.pop("shards")
            try:
                self._table.put_item(
                    Item={**product_key(product.sku), **attributes, "priceVersion": 1},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return False
        item = {**product_key(product.sku), **attributes, "priceVersion": 1}
        item.update(available=0, reserved=0, sold=0)
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        actions += self._shard_puts(product.sku, spread(product.available, product.shards))
        try:
            self._client.transact_write_items(TransactItems=actions)
            return True
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes is None or codes[0] != CONDITION_FAILED:
                raise
            return False

    def _shard_puts(self, sku: str, shares: list[int], *, conditional: bool = True) -> list[Any]:
        puts: list[Any] = []
        for shard, share in enumerate(shares):
            put: dict[str, Any] = {
                "TableName": self._table_name,
                "Item": {**shard_key(sku, shard), "available": share, "reserved": 0, "sold": 0},
            }
            if conditional:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            puts.append({"Put": put})
        return puts

    def _reset_shards(self, product: Product, shards: int) -> None:
        """Overwrite: every shard set to its share of the seed's stock, none reserved or sold."""
        puts = self._shard_puts(product.sku, spread(product.available, shards), conditional=False)
        self._client.transact_write_items(TransactItems=puts)

    def make_hot(self, sku: str, shards: int) -> None:
        """Spread the product item's available units over `shards` shard items, in one
        transaction conditioned on the amount read (units are neither lost nor created: a
        reservation in between cancels it, and it is tried again on a fresh read).

        Converts a SKU that is not sharded (its `reserved` and `sold` stay on the product
        item, where its live reservations will settle), or rebalances a hot one: units
        released to its product item since move into the shards. Raises ValueError for an
        unknown SKU or another shard count than the SKU's."""
        for _ in range(CONVERSION_ATTEMPTS):
            item = self._table.get_item(Key=product_key(sku), ConsistentRead=True).get("Item")
            if item is None:
                raise ValueError(f"unknown SKU {sku}")
            current = _number(item.get("shards"))
            if current and current != shards:
                raise ValueError(f"{sku} is sharded over {current} shards: the count cannot change")
            seen = _number(item.get("available"))
            if current and not seen:
                return  # hot, nothing on the product item to spread
            guard = "attribute_exists(shards)" if current else "attribute_not_exists(shards)"
            actions: list[Any] = [
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": product_key(sku),
                        "UpdateExpression": "SET shards = :shards, available = :zero",
                        "ConditionExpression": f"{guard} AND available = :seen",
                        "ExpressionAttributeValues": {":shards": shards, ":zero": 0, ":seen": seen},
                    }
                }
            ]
            shares = spread(seen, shards, self._rng.randrange(shards))
            if current:
                actions += self._add_to_shards(sku, shares)
            else:
                actions += self._shard_puts(sku, shares)
            try:
                self._client.transact_write_items(TransactItems=actions)
            except ClientError as exc:
                if cancellation_codes(exc) is None:
                    raise
                continue  # stock moved between the read and the write: read again
            self._shards[sku] = shards
            return
        raise InventoryBusy(f"stock of {sku} kept moving while spreading it over shards")

    def restock(self, sku: str, quantity: int) -> None:
        """Add `quantity` units to a product: spread over its shards (in one transaction)
        when hot, else on the product item. Raises ValueError for an unknown SKU."""
        if quantity < 1:
            raise ValueError("restock adds at least one unit")
        item = self._table.get_item(
            Key=product_key(sku), ConsistentRead=True, ProjectionExpression="shards"
        ).get("Item")
        if item is None:
            raise ValueError(f"unknown SKU {sku}")
        shards = _number(item.get("shards"))
        if not shards:
            self._table.update_item(
                Key=product_key(sku),
                UpdateExpression="ADD available :quantity",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(shards)",
                ExpressionAttributeValues={":quantity": quantity},
            )
            return
        shares = spread(quantity, shards, self._rng.randrange(shards))
        self._client.transact_write_items(TransactItems=self._add_to_shards(sku, shares))

    def _add_to_shards(self, sku: str, shares: list[int]) -> list[Any]:
        return [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": shard_key(sku, shard),
                    "UpdateExpression": "ADD available :share",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":share": share},
                }
            }
            for shard, share in enumerate(shares)
            if share
        ]


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
        "takes": [take.model_dump(by_alias=True, exclude_none=True) for take in reservation.takes],
        "attempts": reservation.attempts,
        "createdAt": reservation.created_at.isoformat(),
        "updatedAt": reservation.updated_at.isoformat(),
    }


def _source_key(sku: str, source: int | None) -> dict[str, str]:
    return product_key(sku) if source is None else shard_key(sku, source)


def _number(value: Any) -> int:
    """An integer attribute, deserialized (Decimal) or not ({"N": "4"}); 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, dict):
        return int(value["N"])
    return int(value)


def _product(item: dict[str, Any], shards: list[dict[str, Any]]) -> Product:
    """A product with its counters summed over its product item and its shard items."""
    counters = {name: _number(item.get(name)) for name in COUNTERS}
    for shard in shards:
        for name in COUNTERS:
            counters[name] += _number(shard.get(name))
    return Product.model_validate({**item, **counters})


def _same_shards(product: Product, stored: int) -> int:
    """The shard count a product keeps: the stored one (hot stays hot) or the seed's."""
    if stored and product.shards and stored != product.shards:
        raise ValueError(f"{product.sku} is sharded over {stored} shards: the count cannot change")
    return stored or product.shards


def _cancellation_reasons(exc: ClientError) -> list[tuple[str, dict[str, Any] | None]] | None:
    """Per action of a cancelled transaction: its code ("None" when fine) and, for a failed
    condition asked with ReturnValuesOnConditionCheckFailure, the item as it was; None when
    `exc` is not a transaction cancellation."""
    if cancellation_codes(exc) is None:
        return None
    reasons: list[Any] = list(exc.response.get("CancellationReasons") or [])
    return [(str(reason.get("Code", "None")), reason.get("Item")) for reason in reasons]


def _now() -> datetime:
    return datetime.now(UTC)
