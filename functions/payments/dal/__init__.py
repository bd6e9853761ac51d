"""Payments data access, the provider, and the per-execution-environment instances."""

from functools import cache

from payments.dal.repository import PaymentsRepository
from payments.provider import SimulatedPaymentProvider
from payments.settings import get_settings
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher


@cache
def get_repository() -> PaymentsRepository:
    return PaymentsRepository(get_settings().payments_table)


@cache
def get_provider() -> SimulatedPaymentProvider:
    settings = get_settings()
    return SimulatedPaymentProvider(
        get_repository().count_provider_attempt,
        latency_ms=settings.provider_latency_ms,
        flaky_failures=settings.provider_flaky_failures,
    )


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (get_settings, get_repository, get_provider, get_publisher):
        factory.cache_clear()


__all__ = ["PaymentsRepository", "get_provider", "get_publisher", "get_repository", "reset"]
