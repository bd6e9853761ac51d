"""Assembles GET /orders/{orderId} from the order's view (its history) and, until OrderPlaced
is recorded, the order item (no I/O).

One answer, one snapshot: the status is read from the history it is returned with (the last
status-changing event in sequence order), never from another item that may be ahead of the
history while the projector lags. Until the projector has recorded OrderPlaced, an existing
order is PENDING (the status it was created with) with an empty history.
"""

from collections.abc import Sequence
from typing import Any

from orders import events
from orders.logic.projection import STATUS_BY_TYPE
from orders.models import HistoryEntry, OrderDetails, OrderStatus


def order_details(
    order_id: str, order: dict[str, Any] | None, recorded: Sequence[dict[str, Any]]
) -> OrderDetails | None:
    """From the order item and the recorded history entries (in any order): None if nothing
    is known of the order. An order known only from events other than OrderPlaced (sent to
    the bus by hand) shows what they say."""
    history = sorted(
        (HistoryEntry.model_validate(item) for item in recorded), key=lambda e: e.sequence
    )
    if order is None and not history:
        return None
    placed = next((e.data for e in history if e.type == events.ORDER_PLACED), None)
    source = order or placed or {}
    customer_id = next(
        (
            data["customerId"]
            for data in (source, *(e.data for e in history))
            if "customerId" in data
        ),
        None,
    )
    settled = [entry for entry in history if entry.type in STATUS_BY_TYPE]
    last = settled[-1] if settled else None
    return OrderDetails(
        order_id=order_id,
        status=STATUS_BY_TYPE[last.type] if last else OrderStatus.PENDING,
        customer_id=customer_id,
        items=source.get("items") or [],
        total=source.get("total"),
        reason=last.data.get("reason") if last else None,
        history=history,
    )


def visible_to(details: OrderDetails | None, customer_id: str) -> OrderDetails | None:
    """The order if it is ``customer_id``'s, else None: another customer's order is answered
    exactly like one that does not exist (no enumeration of order ids)."""
    if details is None or details.customer_id != customer_id:
        return None
    return details
