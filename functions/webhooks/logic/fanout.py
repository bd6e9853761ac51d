"""Fan-out: one delivery message per (event, enabled subscription to its type)."""

import json
from collections.abc import Collection, Iterable
from typing import Any

from shared_kernel.cloudevents import CloudEvent
from webhooks.logic.signing import message_id
from webhooks.models import DeliveryMessage, Subscription


def payload(event: CloudEvent, redacted: Collection[str]) -> dict[str, Any]:
    """The CloudEvent as subscribers receive it (structured JSON), without the data fields
    that never leave orderflow (``redacted``)."""
    document: dict[str, Any] = json.loads(event.to_json())
    data = document.get("data")
    if isinstance(data, dict):
        document["data"] = {k: v for k, v in data.items() if k not in redacted}
    return document


def fan_out(
    event: CloudEvent, subscriptions: Iterable[Subscription], redacted: Collection[str]
) -> list[DeliveryMessage]:
    """The first attempt of ``event``'s delivery to each enabled subscription of its type."""
    document = payload(event, redacted)
    return [
        DeliveryMessage(
            message_id=message_id(event.id, subscription.id),
            subscription_id=subscription.id,
            client=subscription.client,
            event=document,
            event_type=event.type,
        )
        for subscription in subscriptions
        if subscription.enabled and event.type in subscription.event_types
    ]
