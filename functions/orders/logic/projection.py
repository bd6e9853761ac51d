"""How each event changes an order's read model (no I/O: the store is passed in)."""

from typing import Any, Protocol

from orders import events
from orders.models import OrderStatus, ViewChange
from shared_kernel.cloudevents import CloudEvent

STATUS_BY_TYPE = {
    events.ORDER_PLACED: OrderStatus.PENDING,
    events.ORDER_CONFIRMED: OrderStatus.CONFIRMED,
    events.ORDER_CANCELLED: OrderStatus.CANCELLED,
}
"""The events that set an order's status, and the status each sets."""


class HistoryStore(Protocol):
    def record_event(
        self, event: CloudEvent, entry: dict[str, Any], change: ViewChange
    ) -> bool: ...


def project(event: CloudEvent, store: HistoryStore) -> bool:
    """Record the event in its order's history (numbered by the order's logical clock) and
    its change to the view; False when it was recorded before (a redelivery)."""
    return store.record_event(event, history_entry(event), view_change(event))


def history_entry(event: CloudEvent) -> dict[str, Any]:
    """The event as the order's history shows it (secrets dropped)."""
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "time": history_time(event),
        "data": public_data(event.data),
    }


def view_change(event: CloudEvent) -> ViewChange:
    """Validates the data of the status-changing events (MalformedEventError otherwise)."""
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
        event.data_as(events.OrderConfirmedData)
        return ViewChange(always={"status": OrderStatus.CONFIRMED.value})
    if event.type == events.ORDER_CANCELLED:
        cancelled = event.data_as(events.OrderCancelledData)
        return ViewChange(
            always={"status": OrderStatus.CANCELLED.value, "reason": cancelled.reason}
        )
    return ViewChange()


def history_time(event: CloudEvent) -> str:
    """RFC 3339 UTC with milliseconds, as the event says (shown, never used to order)."""
    return str(event.to_dict()["time"])


def public_data(data: dict[str, Any]) -> dict[str, Any]:
    """Event data as a read model may show it (secrets dropped)."""
    return {key: value for key, value in data.items() if key not in events.SECRET_FIELDS}
