"""Payments data access, the provider, and the per-execution-environment instances."""

import os
from functools import cache

from standardwebhooks.webhooks import Webhook

from payments.dal.breaker import BreakerRepository
from payments.dal.deliveries import WebhookDeliveries
from payments.dal.order_tokens import OrderPaymentTokens
from payments.dal.provider_mode import ProviderModeParameter
from payments.dal.repository import PaymentsRepository
from payments.dal.sandbox import ConfirmationQueue, reachable_url
from payments.dal.tasks import StepFunctionsTasks
from payments.provider import SimulatedPaymentProvider
from payments.settings import get_settings, required
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher
from shared_kernel.secrets import secret_string


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
    api_key_secret = required(settings.provider_api_key_secret_name, "PROVIDER_API_KEY_SECRET_NAME")

    def api_key() -> str:  # the merchant's copy, and (the sandbox) the key the provider issued
        return secret_string(api_key_secret, max_age=settings.secret_max_age_seconds)

    return SimulatedPaymentProvider(
        get_repository().count_provider_attempt,
        api_key=api_key,
        issued_key=api_key,
        schedule_confirmation=get_confirmation_queue(),
        mode=get_mode_parameter().mode,
        latency_ms=settings.provider_latency_ms,
        slow_latency_ms=settings.provider_slow_latency_ms,
        call_deadline_ms=settings.provider_call_deadline_ms,
        flaky_failures=settings.provider_flaky_failures,
    )


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


@cache
def get_order_tokens() -> OrderPaymentTokens:
    return OrderPaymentTokens(required(get_settings().orders_table, "ORDERS_TABLE"))


@cache
def get_confirmation_queue() -> ConfirmationQueue:
    settings = get_settings()
    return ConfirmationQueue(
        required(settings.provider_confirmations_queue_url, "PROVIDER_CONFIRMATIONS_QUEUE_URL"),
        settings.provider_confirmation_delay_seconds,
    )


@cache
def get_deliveries() -> WebhookDeliveries:
    return WebhookDeliveries(
        required(get_settings().webhook_deliveries_table, "WEBHOOK_DELIVERIES_TABLE")
    )


@cache
def get_tasks() -> StepFunctionsTasks:
    return StepFunctionsTasks()


def get_webhook() -> Webhook:
    """The provider's signing secret (cached by Powertools for ``SECRET_MAX_AGE_SECONDS``): its
    UTF-8 bytes are the HMAC key (a CloudFormation-generated string, not ``whsec_`` base64)."""
    settings = get_settings()
    name = required(settings.payment_webhook_secret_name, "PAYMENT_WEBHOOK_SECRET_NAME")
    return Webhook(secret_string(name, max_age=settings.secret_max_age_seconds).encode())


def get_webhook_url() -> str:
    """Where the sandbox provider POSTs its confirmations (reachable offline on the emulator)."""
    url = required(get_settings().payment_webhook_url, "PAYMENT_WEBHOOK_URL")
    return reachable_url(url, os.environ.get("AWS_ENDPOINT_URL"))


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (
        get_settings,
        get_repository,
        get_mode_parameter,
        get_breaker_store,
        get_provider,
        get_publisher,
        get_order_tokens,
        get_confirmation_queue,
        get_deliveries,
        get_tasks,
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
