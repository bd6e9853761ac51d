"""Webhooks data access, and the per-execution-environment instances handlers use."""

from functools import cache

from webhooks.dal import queue, secrets
from webhooks.dal.deliveries import DeliveriesTable
from webhooks.dal.queue import DeliveryQueues
from webhooks.dal.rule import BusRule
from webhooks.dal.secrets import SigningSecrets
from webhooks.dal.subscriptions import SubscriptionsTable
from webhooks.dal.transport import HttpTransport
from webhooks.settings import get_settings


@cache
def get_subscriptions() -> SubscriptionsTable:
    return SubscriptionsTable(get_settings().subscriptions_table)


@cache
def get_deliveries() -> DeliveriesTable:
    settings = get_settings()
    return DeliveriesTable(settings.deliveries_table, keep_days=settings.attempt_log_days)


@cache
def get_secrets() -> SigningSecrets:
    settings = get_settings()
    return SigningSecrets(settings.secret_prefix, max_age=settings.secret_cache_seconds)


@cache
def get_queues() -> DeliveryQueues:
    settings = get_settings()
    return DeliveryQueues(settings.delivery_queue_url, settings.dlq_url)


@cache
def get_fan_out_rule() -> BusRule:
    return BusRule(get_settings().fan_out_rule_arn)


@cache
def get_transport() -> HttpTransport:
    return HttpTransport()


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (
        get_settings,
        get_subscriptions,
        get_deliveries,
        get_secrets,
        get_queues,
        get_transport,
        get_fan_out_rule,
        queue.sqs,
        secrets.secretsmanager,
    ):
        factory.cache_clear()


__all__ = [
    "BusRule",
    "DeliveriesTable",
    "DeliveryQueues",
    "HttpTransport",
    "SigningSecrets",
    "SubscriptionsTable",
    "get_deliveries",
    "get_fan_out_rule",
    "get_queues",
    "get_secrets",
    "get_subscriptions",
    "get_transport",
    "reset",
]
