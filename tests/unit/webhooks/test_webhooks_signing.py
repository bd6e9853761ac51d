"""Signing (Standard Webhooks, verifiable with ``standardwebhooks.Webhook.verify``), rotation
(both secrets sign during the overlap) and the retry schedule (exponential, full jitter)."""

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.logic.backoff import exhausted, retry_cap, retry_delay
from webhooks.logic.signing import (
    message_id,
    new_secret,
    rotated,
    signed_headers,
    signing_keys,
)
from webhooks.models import RetrySchedule, SigningSecret

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OLD = new_secret(b"o" * 32)
NEW = new_secret(b"n" * 32)
BODY = '{"id":"evt-1","type":"OrderConfirmed"}'


def test_a_secret_is_whsec_and_base64_of_its_bytes() -> None:
    secret = new_secret(bytes(range(32)))
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == bytes(range(32))
    with pytest.raises(ValueError, match="24 to 64 bytes"):
        new_secret(b"short")


def test_a_delivery_verifies_with_standardwebhooks() -> None:
    now = datetime.now(UTC)
    headers = signed_headers("msg_1", BODY, SigningSecret(current=OLD), now)

    assert Webhook(OLD).verify(BODY, headers) == {"id": "evt-1", "type": "OrderConfirmed"}
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(BODY.replace("1", "2"), headers)


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one() -> None:
    now = datetime.now(UTC)
    secret = rotated(SigningSecret(current=OLD), NEW, now, timedelta(minutes=5))
    assert (secret.current, secret.previous, secret.version) == (NEW, OLD, 2)

    during = signed_headers("msg_1", BODY, secret, now)
    assert len(during["webhook-signature"].split(" ")) == 2
    for key in (OLD, NEW):
        assert Webhook(key).verify(BODY, during)
    secret = rotated(SigningSecret(current=OLD), NEW, NOW, timedelta(minutes=5))
    assert signing_keys(secret, NOW + timedelta(minutes=4)) == [NEW, OLD]
    assert signing_keys(secret, NOW + timedelta(minutes=5)) == [NEW]


def test_after_the_overlap_the_previous_secret_no_longer_verifies() -> None:
    secret = rotated(SigningSecret(current=OLD), NEW, datetime.now(UTC), timedelta(0))
    headers = signed_headers("msg_1", BODY, secret, datetime.now(UTC))
    assert Webhook(NEW).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(BODY, headers)


def test_the_secret_value_round_trips_through_its_json() -> None:
    secret = rotated(SigningSecret(current=OLD), NEW, NOW, timedelta(hours=1))
    assert SigningSecret.model_validate_json(secret.to_secret_string()) == secret
    assert '"previousUntil"' in secret.to_secret_string()


def test_the_message_id_is_stable_per_event_and_subscription() -> None:
    one = message_id("evt-1", "wh_a")
    assert one == message_id("evt-1", "wh_a")
    assert one != message_id("evt-1", "wh_b") != message_id("evt-2", "wh_a")
    assert one.startswith("msg_") and len(one) == 36


DEV = RetrySchedule(base_seconds=2, factor=5, max_delay_seconds=60, max_attempts=5)


def test_the_dev_schedule_retries_within_2_then_10_seconds() -> None:
    assert [retry_cap(DEV, n) for n in (1, 2, 3, 4)] == [2, 10, 50, 60]
    assert retry_delay(DEV, 1, lambda: 0.999) < 2
    assert retry_delay(DEV, 2, lambda: 0.999) < 10
    assert retry_delay(DEV, 3, lambda: 0.0) == 0


def test_the_prod_schedule_backs_off_to_its_cap() -> None:
    prod = RetrySchedule(base_seconds=60, factor=4, max_delay_seconds=6 * 3600, max_attempts=8)
    assert [retry_cap(prod, n) for n in range(1, 8)] == [
        60,
        240,
        960,
        3840,
        15360,
        21600,
        21600,
    ]


def constant(value: float) -> Callable[[], float]:
    return lambda: value


def test_full_jitter_spreads_over_the_whole_window() -> None:
    delays = [retry_delay(DEV, 2, constant(v / 10)) for v in range(10)]
    assert delays == list(range(10))


def test_the_schedule_is_exhausted_at_max_attempts() -> None:
    assert not exhausted(DEV, 4)
    assert exhausted(DEV, 5)
    with pytest.raises(ValueError, match="from 1"):
        retry_cap(DEV, 0)
