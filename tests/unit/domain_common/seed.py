"""The repository's seed catalogue (data/products.json), for tests."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

SEED_FILE = Path(__file__).resolve().parents[3] / "data" / "products.json"


def seed_products() -> list[dict[str, Any]]:
    return json.loads(SEED_FILE.read_text())


class PriceCopy(Protocol):
    def record_price(
        self, sku: str, price: Decimal, version: int, *, event_id: str, priced_at: str
    ) -> bool: ...


def seed_catalogue_copy(copy: PriceCopy) -> None:
    """Orders' copy of the seed's prices, as the first seed's ProductPriced events leave it
    (version 1 of each price)."""
    for product in seed_products():
        copy.record_price(
            product["sku"],
            Decimal(str(product["price"])),
            1,
            event_id=f"seed-{product['sku']}",
            priced_at="2025-01-15T10:00:00.000Z",
        )
