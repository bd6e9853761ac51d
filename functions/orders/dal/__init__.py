"""Orders data access, and the per-execution-environment instances handlers use."""

from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from orders.dal.catalog import ProductCatalog
from orders.dal.idempotency import idempotency_store
from orders.dal.repository import OrdersRepository
from orders.dal.views import OrderReads, OrderViews
from orders.settings import get_settings
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher


@cache
def get_repository() -> OrdersRepository:
    return OrdersRepository(get_settings().orders_table)


@cache
def get_views() -> OrderViews:
    table = get_settings().order_views_table
    if not table:
        raise RuntimeError("ORDER_VIEWS_TABLE is not set (only the projector and GET /orders)")
    return OrderViews(table)


@cache
def get_order_reads() -> OrderReads:
    return OrderReads(get_views(), get_repository())


@cache
def get_catalog() -> ProductCatalog:
    return ProductCatalog(get_settings().orders_table)


@cache
def get_idempotency_store() -> DynamoDBPersistenceLayer:
    table = get_settings().idempotency_table
    if not table:
        raise RuntimeError("IDEMPOTENCY_TABLE is not set (only POST /orders has one)")
    return idempotency_store(table)


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (
        get_settings,
        get_repository,
        get_views,
        get_order_reads,
        get_catalog,
        get_idempotency_store,
        get_publisher,
    ):
        factory.cache_clear()


__all__ = [
    "OrderReads",
    "OrderViews",
    "OrdersRepository",
    "ProductCatalog",
    "get_catalog",
    "get_idempotency_store",
    "get_order_reads",
    "get_publisher",
    "get_repository",
    "get_views",
    "reset",
]
