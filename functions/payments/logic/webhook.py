"""Verifying the payment provider's webhook deliveries (Standard Webhooks): headers present, the
timestamp within the tolerance, the signature over the raw body. No I/O.

The tolerance is checked here, before the library's own fixed five-minute window, so a stage
may choose a shorter one (``PaymentWebhookConfig.tolerance_seconds``, at most 300 s: the
library would refuse anything older anyway).
"""

import binascii
from collections.abc import Mapping
from datetime import datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_WEBHOOK_ID_LENGTH = 256


class WebhookRejected(Exception):
    """The delivery is not authentic or not fresh (answered 401); the message says which."""


def verify_delivery(
    body: str,
    headers: Mapping[str, str],
    webhook: Webhook,
    *,
    now: datetime,
    tolerance_seconds: int,
) -> str:
    """The delivery's ``webhook-id`` once its timestamp and signature check out."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookRejected(f"headers: missing {', '.join(missing)}")
    webhook_id = lowered["webhook-id"]
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH or not webhook_id.isprintable():
        raise WebhookRejected(f"webhook-id: not printable or longer than {MAX_WEBHOOK_ID_LENGTH}")
    timestamp = lowered["webhook-timestamp"]
    if not timestamp.isdigit():
        raise WebhookRejected("webhook-timestamp: not a Unix time in seconds")
    skew = int(timestamp) - now.timestamp()
    if abs(skew) > tolerance_seconds:
        side = "in the future" if skew > 0 else "old"
        raise WebhookRejected(
            f"webhook-timestamp: {abs(skew):.0f} s {side}, outside the tolerance of "
            f"{tolerance_seconds} s"
        )
    try:
        webhook.verify(body, {name: lowered[name] for name in HEADERS}, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error) as exc:
        raise WebhookRejected("webhook-signature: no signature matches") from exc
    return webhook_id
