"""Environment of every inventory function, validated once per execution environment."""

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class InventorySettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    products_table: str  # PRODUCTS_TABLE: products and reservations
    event_bus_name: str  # EVENT_BUS_NAME: where Inventory* events are published


@cache
def get_settings() -> InventorySettings:
    return InventorySettings()
