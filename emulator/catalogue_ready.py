"""Wait, with a bound, until orders' copy of the catalogue holds every seeded price.

The products seed (a custom resource, replayed by ``emulator.custom_resources`` after
``cdk deploy``) publishes one ProductPriced per product; orders copies each price into its own
table (``CATALOGUE#<sku>`` / ``PRICE``) asynchronously, through a rule, a queue and a consumer.
An order placed before its SKU's price arrived would be refused as an unknown SKU, so
``make deploy`` ends only when the copy has every product of the template's seed at the seed's
price, polling the orders table (and fails, naming what is missing, after ``timeout_s``).

    python -m emulator.catalogue_ready cdk.out/Orderflow.template.json outputs.json
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from emulator.clients import client

SEED_TYPE = "Custom::ProductsSeed"
TIMEOUT_S = 90.0


def seeded_prices(template: dict[str, Any]) -> dict[str, Decimal]:
    """SKU -> price of every product the template's seed writes."""
    return {
        str(product["sku"]): Decimal(str(product["price"]))
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == SEED_TYPE
        for product in resource["Properties"]["Products"]
    }


def copied_prices(table: str, skus: list[str]) -> dict[str, Decimal]:
    """SKU -> price of orders' copy, for the SKUs it has."""
    dynamodb = client("dynamodb")
    prices: dict[str, Decimal] = {}
    for start in range(0, len(skus), 100):
        keys = [
            {"pk": {"S": f"CATALOGUE#{sku}"}, "sk": {"S": "PRICE"}} for sku in skus[start:][:100]
        ]
        request: Any = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                prices[item["sku"]["S"]] = Decimal(item["price"]["N"])
            request = response.get("UnprocessedKeys") or None
    return prices


def missing(expected: dict[str, Decimal], table: str) -> dict[str, Decimal]:
    """The seeded prices orders' copy does not hold (yet)."""
    copied = copied_prices(table, sorted(expected))
    return {sku: price for sku, price in expected.items() if copied.get(sku) != price}


def wait(expected: dict[str, Decimal], table: str, timeout_s: float = TIMEOUT_S) -> float:
    """Poll until nothing is missing; the seconds it took. SystemExit after ``timeout_s``."""
    started = time.monotonic()
    while True:
        left = missing(expected, table)
        if not left:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            listed = ", ".join(f"{sku} {price}" for sku, price in sorted(left.items()))
            sys.exit(f"orders' catalogue copy still lacks, after {timeout_s:.0f} s: {listed}")
        time.sleep(0.5)


def main(template_file: str, outputs_file: str) -> None:
    expected = seeded_prices(json.loads(Path(template_file).read_text()))
    stacks = json.loads(Path(outputs_file).read_text())
    outputs = {key: value for stack in stacks.values() for key, value in stack.items()}
    if not expected or "OrdersTableName" not in outputs:
        return
    took = wait(expected, outputs["OrdersTableName"])
    print(f"orders' catalogue copy holds the {len(expected)} seeded prices ({took:.1f} s)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
