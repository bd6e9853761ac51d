"""Delivering one message: one attempt, then what follows from its outcome.

A delivery is three steps, so that the deliverer can run the attempts of a batch
concurrently (a slow subscriber never holds up another's delivery) and keep its bookkeeping
simple:

1. ``prepare``: the subscription (gone: drop the message; disabled: record it ``skipped``)
   and the secrets that sign;
2. ``attempt``: resolve the host, check every address it resolves to, POST the signed event
   to the address checked (never a second lookup), within the attempt timeout; no I/O but
   the transport's;
3. ``settle``: record the attempt; on success reset the subscription's consecutive
   failures; on failure count one more (disabling it at the threshold), then schedule the
   next attempt after the backoff, or, when the schedule is exhausted, move the message to
   the DLQ with the reason.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from webhooks.errors import UnsafeDestination
from webhooks.logic.backoff import exhausted, retry_delay
from webhooks.logic.destinations import check_address, check_url
from webhooks.logic.ports import (
    AttemptLog,
    DeliveryQueue,
    SecretStore,
    SubscriptionStore,
    Transport,
)
from webhooks.logic.signing import signed_headers
from webhooks.models import Attempt, DeliveryMessage, RetrySchedule, SigningSecret, Subscription

MAX_SQS_DELAY_SECONDS = 900
USER_AGENT = "orderflow-webhooks/1"
DISABLED_REASON = "{count} consecutive failed deliveries (last: {error})"


@dataclass(frozen=True)
class DeliveryPolicy:
    allow_loopback: bool
    attempt_timeout_seconds: float
    schedule: RetrySchedule
    disable_after_failures: int


@dataclass(frozen=True)
class Prepared:
    message: DeliveryMessage
    subscription: Subscription
    secret: SigningSecret


@dataclass(frozen=True)
class Settled:
    outcome: str
    """``delivered``, ``retry-scheduled``, ``dead-lettered``."""
    disabled: bool = False
    """This attempt's failure disabled the subscription."""


def prepare(
    message: DeliveryMessage,
    store: SubscriptionStore,
    secrets: SecretStore,
    log: AttemptLog,
    now: datetime,
) -> Prepared | str:
    """The subscription and secret to attempt ``message`` with, or why it is not attempted:
    ``gone`` (deleted since) or ``skipped`` (disabled: recorded, and redeliverable)."""
    subscription = store.get(message.client, message.subscription_id)
    if subscription is None:
        return "gone"
    if not subscription.enabled:
        log.record(_attempt(message, "skipped", now, error="subscription disabled"))
        log.remember(message, "skipped")
        return "skipped"
    secret = secrets.for_signing(subscription.id, subscription.secret_version)
    return Prepared(message, subscription, secret)


def attempt(
    prepared: Prepared,
    transport: Transport,
    policy: DeliveryPolicy,
    now: Callable[[], datetime],
    clock: Callable[[], float] = time.monotonic,
) -> Attempt:
    """One attempt: check, sign, POST. Never raises: every failure is an ``Attempt``."""
    message = prepared.message
    started = now()
    began = clock()

    def finished(outcome: str, **fields: object) -> Attempt:
        duration_ms = int((clock() - began) * 1000)
        return _attempt(message, outcome, started, duration_ms=duration_ms, **fields)

    try:
        destination = check_url(prepared.subscription.url, allow_loopback=policy.allow_loopback)
        addresses = (
            [destination.address]
            if destination.address is not None
            else transport.resolve(destination.host, destination.port)
        )
        if not addresses:
            raise UnsafeDestination(f"{destination.host} resolves to no address")
        for address in addresses:  # every one: a name with one bad address is refused
            check_address(address, allow_loopback=policy.allow_loopback)
    except UnsafeDestination as exc:
        return finished("refused", error=f"refused: {exc.problem}")
    except OSError as exc:
        return finished("failed", error=f"DNS: {exc}")
    body = json.dumps(message.event, separators=(",", ":"), ensure_ascii=False)
    headers = {
        **signed_headers(message.message_id, body, prepared.secret, started),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        status = transport.post(
            destination, addresses[0], headers, body.encode(), policy.attempt_timeout_seconds
        )
    except TimeoutError:
        return finished("failed", error=f"timed out after {policy.attempt_timeout_seconds:g} s")
    except OSError as exc:
        return finished("failed", error=f"connection: {exc}")
    if 200 <= status < 300:
        return finished("delivered", status_code=status)
    return finished("failed", status_code=status, error=f"HTTP {status}")


def settle(
    prepared: Prepared,
    result: Attempt,
    *,
    store: SubscriptionStore,
    log: AttemptLog,
    queue: DeliveryQueue,
    policy: DeliveryPolicy,
    random: Callable[[], float],
    now: datetime,
) -> Settled:
    """Record ``result`` and do what follows from it (see the module doc)."""
    message, subscription = prepared.message, prepared.subscription
    log.record(result)
    if result.outcome == "delivered":
        store.record_success(subscription.client, subscription.id)
        log.remember(message, "delivered")
        return Settled("delivered")
    error = result.error or "failed"
    disabled = store.record_failure(
        subscription.client,
        subscription.id,
        disable_after=policy.disable_after_failures,
        reason=DISABLED_REASON.format(count=policy.disable_after_failures, error=error),
    )
    if exhausted(policy.schedule, message.attempt):
        reason = f"{message.attempt} attempts failed (last: {error})"
        failed = message.model_copy(update={"last_error": error})
        queue.dead_letter(failed, reason)
        log.remember(failed, "failed")
        return Settled("dead-lettered", disabled)
    delay = retry_delay(policy.schedule, message.attempt, random)
    queue.send(*next_attempt(message, error, delay, now))
    log.remember(message.model_copy(update={"last_error": error}), "retrying")
    return Settled("retry-scheduled", disabled)


def next_attempt(
    message: DeliveryMessage, error: str, delay: float, now: datetime
) -> tuple[DeliveryMessage, int]:
    """The next attempt's message and its SQS delay: whole seconds, rounded down (so the
    queue's own latency, up to a second on the emulator, keeps the retry within the
    schedule's cap), at most 15 minutes (a longer backoff carries ``not_before`` and is
    delayed again when it comes back early)."""
    seconds = max(0, int(delay))
    following = message.model_copy(
        update={
            "attempt": message.attempt + 1,
            "last_error": error,
            "not_before": now.timestamp() + delay if seconds > MAX_SQS_DELAY_SECONDS else None,
        }
    )
    return following, min(seconds, MAX_SQS_DELAY_SECONDS)


def deferred(message: DeliveryMessage, now: datetime) -> tuple[DeliveryMessage, int] | None:
    """A message that came back before its ``not_before``, and how long to delay it again;
    None when it is due."""
    if message.not_before is None or message.not_before <= now.timestamp():
        return None
    remaining = message.not_before - now.timestamp()
    keep = message if remaining > MAX_SQS_DELAY_SECONDS else None
    again = message.model_copy(update={"not_before": keep.not_before if keep else None})
    return again, min(MAX_SQS_DELAY_SECONDS, max(1, round(remaining)))


def _attempt(
    message: DeliveryMessage,
    outcome: str,
    at: datetime,
    *,
    status_code: object = None,
    error: object = None,
    duration_ms: int = 0,
) -> Attempt:
    return Attempt.model_validate(
        {
            "message_id": message.message_id,
            "subscription_id": message.subscription_id,
            "event_type": message.event_type,
            "attempt": message.attempt,
            "outcome": outcome,
            "status_code": status_code,
            "error": error,
            "duration_ms": duration_ms,
            "at": at.astimezone(UTC),
        }
    )
