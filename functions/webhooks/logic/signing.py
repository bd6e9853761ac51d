"""Signing deliveries as the Standard Webhooks specification says, with the
``standardwebhooks`` package: ``webhook-id`` (the message id, the same on every retry and
redelivery, so a receiver can drop duplicates), ``webhook-timestamp`` (seconds, the attempt's
time) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``).
During a secret rotation both the new and the previous secret sign: the header carries both
signatures, space-separated, so a receiver verifies with whichever secret it has."""

import base64
import hashlib
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook

from webhooks.models import SigningSecret

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
"""Standard Webhooks: secrets of 24 to 64 random bytes."""


def new_secret(random_bytes: bytes) -> str:
    """A secret as subscribers see it: ``whsec_<base64 of the bytes>``."""
    if not 24 <= len(random_bytes) <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def message_id(event_id: str, subscription_id: str) -> str:
    """The ``webhook-id`` of an event's delivery to a subscription: derived from both, so a
    retry, a redelivery, or the same event fanned out twice carry the same id."""
    digest = hashlib.sha256(f"{event_id}\n{subscription_id}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def signing_keys(secret: SigningSecret, now: datetime) -> list[str]:
    """The secrets that sign at ``now``: the current one, and the previous one until its
    overlap ends."""
    keys = [secret.current]
    if secret.previous and secret.previous_until and now < secret.previous_until:
        keys.append(secret.previous)
    return keys


def signed_headers(msg_id: str, body: str, secret: SigningSecret, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    signatures = [
        Webhook(key).sign(msg_id=msg_id, timestamp=now, data=body)
        for key in signing_keys(secret, now)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def rotated(secret: SigningSecret, new: str, now: datetime, overlap: timedelta) -> SigningSecret:
    """``secret`` after a rotation to ``new``: the current one becomes the previous one, and
    keeps signing for ``overlap``."""
    return SigningSecret(
        current=new,
        previous=secret.current,
        previous_until=now + overlap,
        version=secret.version + 1,
    )
