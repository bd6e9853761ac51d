"""How each event changes an order's read model (no I/O)."""

import json
from typing import Any

from pydantic import BaseModel

from orders import events
from orders.models import OrderStatus
from shared_kernel.cloudevents import CloudEvent, from_eventbridge
from shared_kernel.errors import MalformedEventError


class ViewChange(BaseModel):
    """Attributes to set on the order view. `if_absent` ones never overwrite (OrderPlaced
    arriving after OrderConfirmed must not turn the order back to PENDING)."""

    always: dict[str, Any] = {}
    if_absent: dict[str, Any] = {}


def queued_event(body: str) -> CloudEvent:
    """The CloudEvent in a projection-queue message, whose body is the EventBridge event the
    rule sent. MalformedEventError names the field at fault (``body``: not JSON)."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedEventError("body", f"not JSON ({exc.msg})") from exc
    return from_eventbridge(payload)


def view_change(event: CloudEvent) -> ViewChange:
    if event.type == events.ORDER_PLACED:
        placed = event.data_as(events.OrderPlacedData)
        return ViewChange(
            if_absent={
                "status": OrderStatus.PENDING.value,
                "customerId": placed.customer_id,
                "items": [line.model_dump(by_alias=True) for line in placed.items],
                "total": placed.total,
                "placedAt": history_time(event),
            }
        )
    if event.type == events.ORDER_CONFIRMED:
        return ViewChange(always={"status": OrderStatus.CONFIRMED.value})
    if event.type == events.ORDER_CANCELLED:
        cancelled = event.data_as(events.OrderCancelledData)
        return ViewChange(
            always={"status": OrderStatus.CANCELLED.value, "reason": cancelled.reason}
        )
    return ViewChange()


def history_time(event: CloudEvent) -> str:
    """RFC 3339 UTC with milliseconds: fixed width, so it sorts as text."""
    return str(event.to_dict()["time"])


def public_data(data: dict[str, Any]) -> dict[str, Any]:
    """Event data as a read model may show it (secrets dropped)."""
    return {key: value for key, value in data.items() if key not in events.SECRET_FIELDS}
