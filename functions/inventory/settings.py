"""Environment of every inventory function, validated once per execution environment."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from inventory.sharding import MAX_SHARDS


class InventorySettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    products_table: str  # PRODUCTS_TABLE: products and reservations
    event_bus_name: str  # EVENT_BUS_NAME: where Inventory* events are published
    # CATALOGUE_TTL_SECONDS: how long GET /products answers from its copy of the catalogue
    # (0: read the table every time); PRODUCTS_MAX_AGE_SECONDS: its Cache-Control max-age
    # (infra/polling.py sets both per stage)
    catalogue_ttl_seconds: int = Field(default=0, ge=0, le=3_600)
    products_max_age_seconds: int = Field(default=0, ge=0, le=3_600)
    # STOCK_SHARDS: shard items of a SKU the seed marks hot without its own `shards`
    # (infra/stock_sharding.py sets it per stage: dev 4, prod 10)
    stock_shards: int = Field(default=4, ge=2, le=MAX_SHARDS)


@cache
def get_settings() -> InventorySettings:
    return InventorySettings()
