"""The repository's seed catalogue (data/products.json), for tests."""

import json
from pathlib import Path
from typing import Any

SEED_FILE = Path(__file__).resolve().parents[3] / "data" / "products.json"


def seed_products() -> list[dict[str, Any]]:
    return json.loads(SEED_FILE.read_text())
