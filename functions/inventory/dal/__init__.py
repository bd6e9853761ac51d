"""Inventory data access, and the per-execution-environment instances handlers use."""

from functools import cache

from inventory.dal.repository import InventoryRepository
from inventory.settings import get_settings
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher


@cache
def get_repository() -> InventoryRepository:
    return InventoryRepository(get_settings().products_table)


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    get_settings.cache_clear()
    get_repository.cache_clear()
    get_publisher.cache_clear()


__all__ = ["InventoryRepository", "get_publisher", "get_repository", "reset"]
