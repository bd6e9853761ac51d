"""Environment of every payments function, validated once per execution environment."""

from functools import cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentsSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    payments_table: str  # PAYMENTS_TABLE: authorisations and provider attempt counters
    event_bus_name: str  # EVENT_BUS_NAME: where Payment* events are published
    # PROVIDER_LATENCY_MS: simulated provider round trip per call
    provider_latency_ms: int = Field(default=30, ge=0, le=10_000)
    # PROVIDER_FLAKY_FAILURES: how many calls per order `tok_flaky` fails before it succeeds
    provider_flaky_failures: int = Field(default=2, ge=0, le=100)

    # The provider's operating mode and the client's deadline (AuthorizePayment only).
    # PROVIDER_MODE_PARAMETER: SSM parameter holding up | down | slow
    provider_mode_parameter: str | None = Field(default=None, min_length=1, max_length=2048)
    # PROVIDER_MODE_MAX_AGE_SECONDS: how long an execution environment caches the mode
    provider_mode_max_age_seconds: int = Field(default=5, ge=0, le=300)
    # PROVIDER_CALL_DEADLINE_MS: a provider call not answered by then is abandoned (transient)
    provider_call_deadline_ms: int = Field(default=2_000, ge=1, le=60_000)
    # PROVIDER_SLOW_LATENCY_MS: how long the provider takes to answer in `slow` mode
    provider_slow_latency_ms: int = Field(default=30_000, ge=0, le=900_000)

    # The provider's credentials and asynchronous confirmations (docs/webhooks.md).
    # PROVIDER_API_KEY_SECRET_NAME: the merchant's API key at the provider (Secrets Manager)
    provider_api_key_secret_name: str | None = Field(default=None, min_length=1, max_length=512)
    # ORDERS_TABLE: where AuthorizePayment reads the order's payment token (GetItem only)
    orders_table: str | None = Field(default=None, min_length=1, max_length=255)
    # PROVIDER_CONFIRMATIONS_QUEUE_URL: the sandbox provider's confirmations to send later
    provider_confirmations_queue_url: str | None = Field(default=None, min_length=1)
    # PROVIDER_CONFIRMATION_DELAY_SECONDS: how long the sandbox provider takes to confirm
    provider_confirmation_delay_seconds: int = Field(default=3, ge=0, le=900)
    # PAYMENT_WEBHOOK_SECRET_NAME: the provider's webhook signing secret (Secrets Manager)
    payment_webhook_secret_name: str | None = Field(default=None, min_length=1, max_length=512)
    # PAYMENT_WEBHOOK_TOLERANCE_SECONDS: how far a delivery's timestamp may be from now
    payment_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=300)
    # WEBHOOK_DELIVERIES_TABLE: the webhook-ids received (replays are refused)
    webhook_deliveries_table: str | None = Field(default=None, min_length=1, max_length=255)
    # PAYMENT_WEBHOOK_URL: where the sandbox provider POSTs its confirmations (the stage's API)
    payment_webhook_url: str | None = Field(default=None, min_length=1)
    # SECRET_MAX_AGE_SECONDS: how long an execution environment caches a secret's value
    secret_max_age_seconds: int = Field(default=300, ge=0, le=3_600)

    # The circuit breaker in front of the provider (payments/logic/breaker.py)
    breaker_failure_threshold: int = Field(default=5, ge=1, le=10_000)  # BREAKER_FAILURE_THRESHOLD
    breaker_window_seconds: int = Field(default=30, ge=1, le=3_600)  # BREAKER_WINDOW_SECONDS
    breaker_cooldown_seconds: int = Field(default=10, ge=1, le=3_600)  # BREAKER_COOLDOWN_SECONDS
    # BREAKER_PROBE_LEASE_SECONDS: a HALF_OPEN probe that has not reported by then is replaced
    breaker_probe_lease_seconds: int = Field(default=15, ge=1, le=3_600)

    @model_validator(mode="after")
    def _probe_outlives_its_call(self) -> "PaymentsSettings":
        if self.breaker_probe_lease_seconds * 1000 <= self.provider_call_deadline_ms:
            raise ValueError(
                "BREAKER_PROBE_LEASE_SECONDS must exceed PROVIDER_CALL_DEADLINE_MS: a probe "
                "still waiting for the provider would otherwise lose its lease"
            )
        return self


def required[T](value: T | None, name: str) -> T:
    """A setting the calling function needs (its infra sets it); a clear error otherwise."""
    if value is None:
        raise RuntimeError(f"{name} is not set: this function needs it")
    return value


@cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
