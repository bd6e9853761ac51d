"""Environment of every payments function, validated once per execution environment."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentsSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    payments_table: str  # PAYMENTS_TABLE: authorisations and provider attempt counters
    event_bus_name: str  # EVENT_BUS_NAME: where Payment* events are published
    # PROVIDER_LATENCY_MS: simulated provider round trip per call
    provider_latency_ms: int = Field(default=30, ge=0, le=10_000)
    # PROVIDER_FLAKY_FAILURES: how many calls per order `tok_flaky` fails before it succeeds
    provider_flaky_failures: int = Field(default=2, ge=0, le=100)


@cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
