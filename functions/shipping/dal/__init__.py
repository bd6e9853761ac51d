"""Shipping data access, and the per-execution-environment instances handlers use."""

from functools import cache

from shared_kernel import aws
from shared_kernel.publisher import EventPublisher
from shipping.dal.repository import ShipmentsRepository
from shipping.dal.saga import SagaNotifier
from shipping.settings import get_settings


@cache
def get_repository() -> ShipmentsRepository:
    return ShipmentsRepository(get_settings().shipments_table)


@cache
def get_notifier() -> SagaNotifier:
    return SagaNotifier(aws.stepfunctions())


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (get_settings, get_repository, get_notifier, get_publisher):
        factory.cache_clear()


__all__ = [
    "SagaNotifier",
    "ShipmentsRepository",
    "get_notifier",
    "get_publisher",
    "get_repository",
    "reset",
]
