"""Subscriptions: register, list, read, delete, rotate the secret, re-enable. Every operation
is the caller's (the API key's client): another client's subscription is not found."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from webhooks.errors import MessageNotFound, SubscriptionNotFound, UnknownEventTypes
from webhooks.logic.destinations import check_url
from webhooks.logic.ports import (
    AttemptLog,
    DeliveryQueue,
    RuleSwitch,
    SecretStore,
    SubscriptionStore,
)
from webhooks.logic.signing import new_secret, rotated
from webhooks.models import (
    Attempt,
    CreatedWebhook,
    DeliveryMessage,
    RotatedSecret,
    SigningSecret,
    Subscription,
    SubscriptionRequest,
)


@dataclass(frozen=True)
class Registry:
    """What the subscription operations need: the stores, the rules and the sources of time,
    ids and randomness."""

    store: SubscriptionStore
    secrets: SecretStore
    fan_out_rule: RuleSwitch
    """enabled after a subscription is stored or re-enabled (``logic/gate.py``)"""
    event_types: Collection[str]
    allow_loopback: bool
    rotation_overlap: timedelta
    now: Callable[[], datetime]
    new_id: Callable[[], str]
    random_bytes: Callable[[], bytes]

    def register(self, client: str, request: SubscriptionRequest) -> CreatedWebhook:
        check_url(request.url, allow_loopback=self.allow_loopback)
        unknown = sorted(set(request.event_types) - set(self.event_types))
        if unknown:
            raise UnknownEventTypes(unknown)
        subscription = Subscription(
            id=self.new_id(),
            client=client,
            url=request.url.strip(),
            event_types=sorted(set(request.event_types)),
            created_at=self.now(),
        )
        secret = new_secret(self.random_bytes())
        # the secret first: a subscription is never stored without one to sign with
        self.secrets.create(subscription.id, SigningSecret(current=secret))
        self.store.put(subscription)
        self.fan_out_rule.enable()
        return CreatedWebhook(**subscription.view().model_dump(), secret=secret)

    def get(self, client: str, subscription_id: str) -> Subscription:
        subscription = self.store.get(client, subscription_id)
        if subscription is None:
            raise SubscriptionNotFound(subscription_id)
        return subscription

    def of_client(self, client: str) -> list[Subscription]:
        return sorted(self.store.of_client(client), key=lambda s: (s.created_at, s.id))

    def delete(self, client: str, subscription_id: str) -> None:
        if not self.store.delete(client, subscription_id):
            raise SubscriptionNotFound(subscription_id)
        self.secrets.delete(subscription_id)

    def rotate(self, client: str, subscription_id: str) -> RotatedSecret:
        subscription = self.get(client, subscription_id)
        now = self.now()
        secret = rotated(
            self.secrets.read(subscription.id),
            new_secret(self.random_bytes()),
            now,
            self.rotation_overlap,
        )
        self.secrets.write(subscription.id, secret)
        # the deliverer reads the secret again once it sees the new version
        self.store.set_secret_version(client, subscription.id, secret.version)
        assert secret.previous_until is not None
        return RotatedSecret(
            id=subscription.id, secret=secret.current, previous_valid_until=secret.previous_until
        )

    def enable(self, client: str, subscription_id: str) -> Subscription:
        self.get(client, subscription_id)
        self.store.set_enabled(client, subscription_id, True)
        self.fan_out_rule.enable()
        return self.get(client, subscription_id)


def deliveries(
    registry: Registry, log: AttemptLog, client: str, subscription_id: str, limit: int
) -> list[Attempt]:
    """The subscription's latest attempts, newest first."""
    subscription = registry.get(client, subscription_id)
    return log.attempts(subscription.id, limit)


def redeliver(
    registry: Registry,
    log: AttemptLog,
    queue: DeliveryQueue,
    *,
    client: str,
    subscription_id: str,
    message_id: str,
) -> DeliveryMessage:
    """Queue a message the subscription was sent before, as a first attempt again (same
    ``webhook-id``)."""
    subscription = registry.get(client, subscription_id)
    return requeue(log, queue, subscription.id, message_id)


def requeue(
    log: AttemptLog, queue: DeliveryQueue, subscription_id: str, message_id: str
) -> DeliveryMessage:
    """``redeliver`` without the ownership check: the operator's CLI."""
    message = log.message(subscription_id, message_id)
    if message is None:
        raise MessageNotFound(message_id)
    again = message.model_copy(update={"attempt": 1, "last_error": None, "not_before": None})
    queue.send(again)
    log.remember(again, "queued")
    return again
