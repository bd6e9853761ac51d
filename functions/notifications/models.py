"""Notifications' models."""

from datetime import datetime

from shared_kernel.models import CamelModel


class Notification(CamelModel):
    """A message for a customer, one per event (pk=NOTIFICATION#<eventId>)."""

    event_id: str
    order_id: str
    customer_id: str
    channel: str
    subject: str
    body: str
    created_at: datetime
