"""Payments data access, the provider, and the per-execution-environment instances."""

from functools import cache

from payments.dal.breaker import BreakerRepository
from payments.dal.provider_mode import ProviderModeParameter
from payments.dal.repository import PaymentsRepository
from payments.provider import SimulatedPaymentProvider
from payments.settings import get_settings
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher


@cache
def get_repository() -> PaymentsRepository:
    return PaymentsRepository(get_settings().payments_table)


@cache
def get_mode_parameter() -> ProviderModeParameter:
    settings = get_settings()
    if settings.provider_mode_parameter is None:
        raise RuntimeError("PROVIDER_MODE_PARAMETER is not set: the provider needs its mode")
    return ProviderModeParameter(
        settings.provider_mode_parameter, settings.provider_mode_max_age_seconds
    )


@cache
def get_breaker_store() -> BreakerRepository:
    return BreakerRepository(get_settings().payments_table)


@cache
def get_provider() -> SimulatedPaymentProvider:
    """The simulated provider, in the mode its SSM parameter says (``payments.resilience``
    puts the circuit breaker in front of it)."""
    settings = get_settings()
    return SimulatedPaymentProvider(
        get_repository().count_provider_attempt,
        mode=get_mode_parameter().mode,
        latency_ms=settings.provider_latency_ms,
        slow_latency_ms=settings.provider_slow_latency_ms,
        call_deadline_ms=settings.provider_call_deadline_ms,
        flaky_failures=settings.provider_flaky_failures,
    )


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (
        get_settings,
        get_repository,
        get_mode_parameter,
        get_breaker_store,
        get_provider,
        get_publisher,
    ):
        factory.cache_clear()


__all__ = [
    "BreakerRepository",
    "PaymentsRepository",
    "get_breaker_store",
    "get_mode_parameter",
    "get_provider",
    "get_publisher",
    "get_repository",
    "reset",
]
