"""The reconciler's data access: its own lease table and the saga's executions, plus the
owning services' repositories (orders', inventory's and payments' dal: their storage translation is
theirs), and the per-execution-environment instances the handler uses."""

from functools import cache

from inventory.dal.repository import InventoryRepository
from orders.dal.repository import OrdersRepository
from payments.dal.repository import PaymentsRepository
from reconciler.dal.lease import LeaseTable
from reconciler.dal.saga import SagaExecutions
from reconciler.settings import get_settings
from shared_kernel import aws
from shared_kernel.publisher import EventPublisher


@cache
def get_lease_table() -> LeaseTable:
    return LeaseTable(get_settings().lease_table)


@cache
def get_orders() -> OrdersRepository:
    return OrdersRepository(get_settings().orders_table)


@cache
def get_inventory() -> InventoryRepository:
    return InventoryRepository(get_settings().products_table)


@cache
def get_payments() -> PaymentsRepository:
    return PaymentsRepository(get_settings().payments_table)


@cache
def get_saga() -> SagaExecutions:
    return SagaExecutions(get_settings().state_machine_arn)


@cache
def get_publisher() -> EventPublisher:
    return EventPublisher(aws.eventbridge(), get_settings().event_bus_name)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (
        get_settings,
        get_lease_table,
        get_orders,
        get_inventory,
        get_payments,
        get_saga,
        get_publisher,
    ):
        factory.cache_clear()


__all__ = [
    "LeaseTable",
    "SagaExecutions",
    "get_inventory",
    "get_lease_table",
    "get_orders",
    "get_payments",
    "get_publisher",
    "get_saga",
    "reset",
]
