"""A flash sale on the emulator: many concurrent orders of one hot SKU, whose stock is sharded,
through the whole saga (OrderPlaced on the bus -> reserve on a shard -> pay -> confirm ->
commit, or cancel and release). No oversell, no unit lost, no reservation left behind."""

from __future__ import annotations

import json
from typing import Any

from emulator.clients import client
from tests.integration.support import eventually, hot_stocked_product, stock_items
from tests.sample_events import fresh_entry

TERMINAL = {"CONFIRMED", "CANCELLED"}
STOCK = 10
ORDERS = 16
SHARDS = 4


def order_placed(sku: str) -> dict[str, Any]:
    """A fresh OrderPlaced entry (tok_ok) ordering one unit of `sku`."""
    entry = fresh_entry("order-placed")
    detail = json.loads(entry["Detail"])
    detail["data"]["items"] = [{"sku": sku, "quantity": 1, "unitPrice": "12.50"}]
    detail["data"]["total"] = "12.50"
    return {**entry, "Detail": json.dumps(detail)}


def items_by_key(table: str, keys: list[dict[str, Any]], projection: str) -> list[dict[str, Any]]:
    dynamodb = client("dynamodb")
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": keys[start : start + 100],
                "ProjectionExpression": projection,
                "ExpressionAttributeNames": {"#s": "status"},
                "ConsistentRead": True,
            }
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            found += answer["Responses"].get(table, [])
            request = answer.get("UnprocessedKeys") or {}
    return found


def statuses(outputs: dict[str, str], order_ids: list[str]) -> dict[str, str] | None:
    """Every order's status, once all are terminal."""
    keys = [{"pk": {"S": f"ORDER#{o}"}, "sk": {"S": "ORDER"}} for o in order_ids]
    items = items_by_key(outputs["OrdersTableName"], keys, "pk, #s")
    found = {item["pk"]["S"].removeprefix("ORDER#"): item["status"]["S"] for item in items}
    done = len(found) == len(order_ids) and set(found.values()) <= TERMINAL
    return found if done else None


def reservations(outputs: dict[str, str], order_ids: list[str]) -> list[dict[str, Any]]:
    keys = [{"pk": {"S": f"RESERVATION#{o}"}, "sk": {"S": "RESERVATION"}} for o in order_ids]
    return items_by_key(outputs["ProductsTableName"], keys, "pk, #s, takes")


def settled_reservations(outputs: dict[str, str], order_ids: list[str]) -> list[Any] | None:
    """The orders' reservations, once none is still RESERVED (CommitInventory runs after the
    order's terminal status)."""
    found = reservations(outputs, order_ids)
    return None if any(r["status"]["S"] == "RESERVED" for r in found) else found or None


def test_concurrent_orders_of_a_hot_sku_sell_exactly_its_stock(
    lambda_client: Any, outputs: dict[str, str]
) -> None:
    # Given a hot SKU with 10 units over 4 shards
    sku = hot_stocked_product(lambda_client, outputs, STOCK, shards=SHARDS)
    before = stock_items(outputs, sku)
    assert len(before) == 1 + SHARDS
    assert sum(item["available"] for item in before) == STOCK

    # When 16 orders of one unit each are placed at once
    entries = [order_placed(sku) for _ in range(ORDERS)]
    order_ids = [json.loads(entry["Detail"])["subject"] for entry in entries]
    events = client("events")
    for start in range(0, ORDERS, 10):
        answer = events.put_events(Entries=entries[start : start + 10])
        assert answer["FailedEntryCount"] == 0, answer

    # Then every order ends, exactly as many confirmed as there were units
    final_status = eventually(lambda: statuses(outputs, order_ids), timeout_s=240, every_s=1)
    confirmed = [o for o, status in final_status.items() if status == "CONFIRMED"]
    assert len(confirmed) == STOCK

    # And no reservation is left RESERVED; the confirmed ones were taken from a shard each
    stored = eventually(lambda: settled_reservations(outputs, order_ids), timeout_s=60)
    committed = [r for r in stored if r["status"]["S"] == "COMMITTED"]
    assert len(committed) == STOCK
    for reservation in committed:
        [take] = reservation["takes"]["L"]
        assert 0 <= int(take["M"]["shard"]["N"]) < SHARDS

    # And the stock adds up: confirmed units == initial - final, nothing reserved, none negative
    after = stock_items(outputs, sku)
    assert all(min(item.values()) >= 0 for item in after)
    assert sum(item["reserved"] for item in after) == 0
    assert STOCK - sum(item["available"] for item in after) == len(confirmed)
    assert sum(item["sold"] for item in after) == len(confirmed)
    # And the units were sold across the shards, not from the product item
    assert after[0] == before[0]
