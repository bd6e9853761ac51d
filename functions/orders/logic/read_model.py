"""Assembles GET /orders/{orderId} from the items of the order's partition (no I/O)."""

from collections.abc import Sequence
from typing import Any

from orders.models import HistoryEntry, OrderDetails


def order_details(order_id: str, items: Sequence[dict[str, Any]]) -> OrderDetails | None:
    """From the order's items (order, view, EVENT#... in sort-key order): the view's status,
    falling back to the order item while the projector has not run; None if neither exists."""
    by_kind = {item["sk"]: item for item in items if not str(item["sk"]).startswith("EVENT#")}
    source = by_kind.get("VIEW") or by_kind.get("ORDER")
    if source is None or "status" not in source:
        return None
    order = by_kind.get("ORDER", {})
    history = [
        HistoryEntry.model_validate(item) for item in items if str(item["sk"]).startswith("EVENT#")
    ]
    return OrderDetails(
        order_id=order_id,
        status=source["status"],
        customer_id=source.get("customerId") or order.get("customerId"),
        items=source.get("items") or order.get("items") or [],
        total=source.get("total") or order.get("total"),
        reason=source.get("reason"),
        history=history,
    )
