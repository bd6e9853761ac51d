"""Orders' copy of the catalogue on the emulator: inventory publishes every price it sets
(ProductPriced), orders copies it into its own table and prices orders from the copy only."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, catalogue_copy, eventually, seed_product

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "data" / "products.json").read_text())


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-catalogue", stage_issuer
    )


def stored_order(outputs: dict[str, str], order_id: str) -> dict[str, Any]:
    item = client("dynamodb").get_item(
        TableName=outputs["OrdersTableName"],
        Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
        ConsistentRead=True,
    )["Item"]
    return {
        "total": Decimal(item["total"]["N"]),
        "unitPrices": [Decimal(line["M"]["unitPrice"]["N"]) for line in item["items"]["L"]],
    }


def order(api: KeyedApi, sku: str, quantity: int = 1) -> tuple[int, Any]:
    body = {
        "items": [{"sku": sku, "quantity": quantity}],
        "paymentToken": "tok_ok",
    }
    return api.http("POST", "/orders", body)


def test_a_fresh_deploys_copy_holds_every_seeded_price_and_orders_price_from_it(
    outputs: dict[str, str], api: KeyedApi
) -> None:
    # Given `make deploy` returned (it waits for the copy): every seeded SKU is in orders' copy
    for product in SEED:
        copy = catalogue_copy(outputs, product["sku"])
        assert copy is not None, product["sku"]
        assert copy["price"] == Decimal(product["price"]), product["sku"]
    # When an order is placed right away
    mug = next(product for product in SEED if product["sku"] == "SKU-MUG-001")
    status, answer = order(api, mug["sku"], quantity=2)
    # Then it is priced from the copy
    assert status == 202, answer
    placed = stored_order(outputs, answer["orderId"])
    assert placed["unitPrices"] == [Decimal(mug["price"])]
    assert placed["total"] == 2 * Decimal(mug["price"])


def test_a_price_set_in_inventory_reaches_orders_and_prices_the_next_order(
    outputs: dict[str, str], api: KeyedApi, lambda_client: Any
) -> None:
    sku = f"SKU-IT-{uuid.uuid4().hex[:10].upper()}"
    # Given a SKU orders has not heard of: unknown
    status, answer = order(api, sku)
    assert status == 400, answer
    assert answer["errors"] == [{"field": "items[0].sku", "problem": "unknown sku"}]
    # When inventory sets its price, orders' copy has it a moment later
    seed_product(lambda_client, outputs, sku, "5.00")
    first = eventually(lambda: catalogue_copy(outputs, sku), timeout_s=30, every_s=0.25)
    assert first["price"] == Decimal("5.00")
    status, answer = order(api, sku, quantity=2)
    assert status == 202, answer
    assert stored_order(outputs, answer["orderId"])["total"] == Decimal("10.00")
    # And when inventory changes the price, the next order is priced with the new one
    seed_product(lambda_client, outputs, sku, "7.50")
    second = eventually(
        lambda: (
            (copy := catalogue_copy(outputs, sku)) and copy["price"] == Decimal("7.50") and copy
        ),
        timeout_s=30,
        every_s=0.25,
    )
    assert second["priceVersion"] > first["priceVersion"]
    status, answer = order(api, sku)
    assert status == 202, answer
    assert stored_order(outputs, answer["orderId"])["unitPrices"] == [Decimal("7.50")]
