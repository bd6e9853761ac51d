"""Environment of the reconciler function, validated once per execution environment."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReconcilerSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    lease_table: str  # LEASE_TABLE: the reconciler's lease (one item, never deleted)
    orders_table: str  # ORDERS_TABLE: orders and their outbox (orders' dal)
    products_table: str  # PRODUCTS_TABLE: reservations (inventory's dal)
    payments_table: str  # PAYMENTS_TABLE: authorisations (payments' dal)
    event_bus_name: str  # EVENT_BUS_NAME: where stuck events are published again
    state_machine_arn: str  # STATE_MACHINE_ARN: the saga, restarted for stalled orders
    # LEASE_SECONDS: how long one acquisition (or renewal) holds the lease; more than the
    # function's timeout, so a holder's lease cannot lapse while it is still allowed to run
    lease_seconds: int = Field(default=90, ge=10)
    # GRACE_SECONDS: age after which a PENDING outbox item, a RESERVED reservation of a
    # settled order or an AUTHORIZED payment of a cancelled order is stuck (the relay and the
    # saga normally finish in seconds)
    grace_seconds: int = Field(default=120, ge=0)
    # ORDER_SLA_SECONDS: age after which a PENDING order with no running saga is stalled
    order_sla_seconds: int = Field(default=300, ge=0)
    # MAX_SAGA_RESTARTS: restarts of a stalled order's saga before it is cancelled
    max_saga_restarts: int = Field(default=2, ge=0)
    # PAGE_SIZE / MAX_PAGES: items read per scan page, pages per job per run
    page_size: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=10, ge=1)
    # SAFETY_MARGIN_SECONDS: stop this long before the lease expires or the function times out
    safety_margin_seconds: int = Field(default=10, ge=1)


@cache
def get_settings() -> ReconcilerSettings:
    return ReconcilerSettings()
