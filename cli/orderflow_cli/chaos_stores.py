"""Reading what ``orderflow chaos run`` checks from the system's own stores, as the plain data
``chaos_invariants`` takes: the orders table (write model, history, outbox), the products table
(stock, reservations), the payments table (authorisations, breakers). Keys and attributes are
those of each service's ``dal/`` (the CLI reads them; it writes nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from boto3.dynamodb.conditions import Attr

from orderflow_cli.chaos_invariants import Authorization, OrderState, Stock
from orderflow_cli.stack import StackRef

BATCH = 100


def _scan(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _batch_get(stack: StackRef, table: str, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    dynamodb = stack.resource("dynamodb")
    found: list[dict[str, Any]] = []
    for first in range(0, len(keys), BATCH):
        request: dict[str, Any] = {
            table: {"Keys": keys[first : first + BATCH], "ConsistentRead": True}
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            found += answer["Responses"].get(table, [])
            request = answer.get("UnprocessedKeys") or {}
    return found


def order_state(item: dict[str, Any]) -> OrderState:
    lines: dict[str, int] = {}
    for line in item.get("items", []):
        lines[str(line["sku"])] = lines.get(str(line["sku"]), 0) + int(line["quantity"])
    return OrderState(
        order_id=str(item["orderId"]),
        status=str(item["status"]),
        reason=item.get("reason"),
        lines=lines,
        customer_id=str(item.get("customerId", "")),
    )


def stock(stack: StackRef) -> dict[str, Stock]:
    """Per SKU, available and reserved units; a hot SKU's summed over its product item and its
    shard items (``SHARD#<sku>#<i>``, functions/inventory/README.md)."""
    table = stack.resource("dynamodb").Table(stack.output("ProductsTableName"))
    kinds = Attr("sk").eq("PRODUCT") | Attr("sk").eq("SHARD")
    levels: dict[str, tuple[int, int]] = {}
    for item in _scan(table, FilterExpression=kinds, ConsistentRead=True):
        sku = str(item["pk"]).split("#")[1]
        available, reserved = levels.get(sku, (0, 0))
        levels[sku] = (
            available + int(item.get("available", 0)),
            reserved + int(item.get("reserved", 0)),
        )
    return {sku: Stock(available, reserved) for sku, (available, reserved) in levels.items()}


def orders(stack: StackRef, order_ids: Iterable[str]) -> dict[str, OrderState]:
    keys = [{"pk": f"ORDER#{order_id}", "sk": "ORDER"} for order_id in order_ids]
    items = _batch_get(stack, stack.output("OrdersTableName"), keys)
    return {str(item["orderId"]): order_state(item) for item in items}


def orders_where(stack: StackRef, condition: Any) -> list[OrderState]:
    """Every order (write model) matching a filter on its attributes (a scan)."""
    table = stack.resource("dynamodb").Table(stack.output("OrdersTableName"))
    found = _scan(table, FilterExpression=Attr("sk").eq("ORDER") & condition, ConsistentRead=True)
    return [order_state(item) for item in found]


def pending_orders(stack: StackRef) -> list[OrderState]:
    return orders_where(stack, Attr("status").eq("PENDING"))


def orders_since(stack: StackRef, created_from: str) -> list[OrderState]:
    """Orders created at or after ``created_from`` (ISO 8601 UTC, as ``createdAt``)."""
    return orders_where(stack, Attr("createdAt").gte(created_from))


def history(stack: StackRef, order_ids: Iterable[str]) -> dict[str, list[str]]:
    """Order id -> the types of the events in its history (the read model's view item), in
    the history's sequence."""
    ids = list(order_ids)
    keys = [{"pk": f"ORDER#{order_id}", "sk": "VIEW"} for order_id in ids]
    views = _batch_get(stack, stack.output("OrderViewsTableName"), keys)
    found: dict[str, list[str]] = {order_id: [] for order_id in ids}
    for view in views:
        entries = sorted(view.get("history", {}).values(), key=lambda entry: entry["sequence"])
        found[str(view["pk"]).removeprefix("ORDER#")] = [str(entry["type"]) for entry in entries]
    return found


def reservations(stack: StackRef, order_ids: Iterable[str]) -> dict[str, str | None]:
    ids = list(order_ids)
    keys = [{"pk": f"RESERVATION#{order_id}", "sk": "RESERVATION"} for order_id in ids]
    items = _batch_get(stack, stack.output("ProductsTableName"), keys)
    stored = {str(item["orderId"]): str(item["status"]) for item in items}
    return {order_id: stored.get(order_id) for order_id in ids}


def authorizations(stack: StackRef, order_ids: Iterable[str]) -> dict[str, Authorization]:
    keys = [{"pk": f"AUTH#{order_id}", "sk": "AUTH"} for order_id in order_ids]
    items = _batch_get(stack, stack.output("PaymentsTableName"), keys)
    return {
        str(item["orderId"]): Authorization(str(item["status"]), bool(item.get("authorizationId")))
        for item in items
    }


def outbox_pending(stack: StackRef) -> list[str]:
    table = stack.resource("dynamodb").Table(stack.output("OrdersTableName"))
    condition = Attr("sk").eq("OUTBOX") & Attr("status").eq("PENDING")
    return sorted(
        f"{str(item['pk']).removeprefix('OUTBOX#')} ({item.get('eventType')} "
        f"of {item.get('orderId')})"
        for item in _scan(table, FilterExpression=condition, ConsistentRead=True)
    )


def breakers(stack: StackRef) -> dict[str, dict[str, Any]]:
    """Dependency -> its breaker (state, opens, probes), from the payments table."""
    table = stack.resource("dynamodb").Table(stack.output("PaymentsTableName"))
    items = _scan(table, FilterExpression=Attr("pk").begins_with("BREAKER#"), ConsistentRead=True)
    return {
        str(item["pk"]).removeprefix("BREAKER#"): {
            "state": str(item.get("state")),
            "opens": int(item.get("opens", 0)),
            "probes": int(item.get("probes", 0)),
        }
        for item in items
    }
