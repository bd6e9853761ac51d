"""Loads the ready-to-send files in events/ so tests use exactly what people send.

Each file is a `aws events put-events --entries file://events/<name>.json` list of one entry
whose Detail is a CloudEvent JSON string. The files carry fixed ids; tests that store anything
get fresh ones with `fresh_entry` / `fresh_delivery` so examples never collide.
"""

import json
import uuid
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_entry(name: str) -> dict[str, Any]:
    """The single PutEvents entry of events/<name>.json."""
    [entry] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return entry


def fresh_entry(name: str, order_id: str | None = None) -> dict[str, Any]:
    """The entry with a new event id, correlation id and order id (subject and data.orderId)."""
    entry = load_entry(name)
    detail = json.loads(entry["Detail"])
    order_id = order_id or str(uuid.uuid4())
    detail["id"] = str(uuid.uuid4())
    detail["correlationid"] = str(uuid.uuid4())
    detail["subject"] = order_id
    if "orderId" in detail.get("data", {}):
        detail["data"]["orderId"] = order_id
    return {**entry, "Detail": json.dumps(detail)}


def delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event a rule target (Lambda, Step Functions) receives for `entry`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2025-01-15T10:30:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def fresh_delivery(name: str, order_id: str | None = None) -> dict[str, Any]:
    return delivered(fresh_entry(name, order_id))


DOMAIN_SAMPLES = (
    "order-placed",
    "order-placed-declined",
    "order-placed-flaky",
    "order-placed-out-of-stock",
    "order-confirmed",
    "order-cancelled",
    "inventory-reserved",
    "inventory-reservation-failed",
    "inventory-released",
    "payment-authorized",
    "payment-declined",
    "payment-voided",
    "shipment-scheduled",
)
MALFORMED_SAMPLES = ("malformed-order-placed",)
CATALOGUE_SAMPLES = ("product-priced",)
"""Events about products, not orders (the projector's rule leaves them out)."""
