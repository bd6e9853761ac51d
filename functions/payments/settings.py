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


@cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
