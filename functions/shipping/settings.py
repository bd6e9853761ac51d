"""Environment of every shipping function, validated once per execution environment."""

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ShippingSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    shipments_table: str  # SHIPMENTS_TABLE: one shipment per order
    event_bus_name: str  # EVENT_BUS_NAME: where ShipmentScheduled is published


@cache
def get_settings() -> ShippingSettings:
    return ShippingSettings()
