"""Environment of every orders function, validated once per execution environment."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrdersSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    orders_table: str  # ORDERS_TABLE: orders, outbox and prices (stream enabled)
    # ORDER_VIEWS_TABLE: the read model, views and histories (only the projector and
    # GET /orders/{orderId} have it)
    order_views_table: str | None = None
    event_bus_name: str  # EVENT_BUS_NAME: where the outbox relay publishes
    # IDEMPOTENCY_TABLE: POST /orders' idempotency records (only that function has it)
    idempotency_table: str | None = None
    # IDEMPOTENCY_EXPIRY_SECONDS: how long an Idempotency-Key is remembered
    idempotency_expiry_seconds: int = Field(default=3600, ge=60)
    # LONG_POLL_MAX_WAIT_SECONDS, LONG_POLL_INTERVAL_MS: GET /orders/{orderId}?wait=N's longest
    # wait and how often a waiting request reads the order's version (infra/polling.py)
    long_poll_max_wait_seconds: int = Field(default=20, ge=1, le=20)
    long_poll_interval_ms: int = Field(default=250, ge=50, le=5_000)


@cache
def get_settings() -> OrdersSettings:
    return OrdersSettings()
