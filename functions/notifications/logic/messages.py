"""Renders the customer's message for an order outcome (no I/O)."""

from datetime import UTC, datetime

from notifications import events
from notifications.models import Notification
from shared_kernel.cloudevents import CloudEvent

CHANNEL = "email"
REASON_TEXT = {
    "OUT_OF_STOCK": "an item you ordered is out of stock",
    "PAYMENT_DECLINED": "your payment was declined",
    "PAYMENT_UNAVAILABLE": "we could not reach our payment provider (you were not charged)",
    "SHIPMENT_TIMEOUT": "we could not schedule its delivery in time",
    "SHIPMENT_NOT_SCHEDULED": "we could not schedule its delivery",
}
DEFAULT_REASON_TEXT = "we could not complete it"


def render(event: CloudEvent) -> Notification | None:
    """The customer's message for OrderConfirmed / OrderCancelled; None for other events."""
    if event.type == events.ORDER_CONFIRMED:
        confirmed = event.data_as(events.OrderConfirmedData)
        return _notification(
            event,
            confirmed.customer_id,
            subject=f"Order {confirmed.order_id} confirmed",
            body=(
                f"Good news: your order {confirmed.order_id} is confirmed and will ship soon. "
                f"Total charged: {confirmed.total:.2f}."
            ),
        )
    if event.type == events.ORDER_CANCELLED:
        cancelled = event.data_as(events.OrderCancelledData)
        why = REASON_TEXT.get(cancelled.reason, DEFAULT_REASON_TEXT)
        return _notification(
            event,
            cancelled.customer_id,
            subject=f"Order {cancelled.order_id} cancelled",
            body=(
                f"Sorry: your order {cancelled.order_id} was cancelled because {why}. "
                "You have not been charged."
            ),
        )
    return None


def _notification(event: CloudEvent, customer_id: str, *, subject: str, body: str) -> Notification:
    return Notification(
        event_id=event.id,
        order_id=event.subject,
        customer_id=customer_id,
        channel=CHANNEL,
        subject=subject,
        body=body,
        created_at=datetime.now(UTC),
    )
