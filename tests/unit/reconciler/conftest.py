"""Fixtures of the reconciler's unit tests: the orders, products, payments and lease tables,
the saga (a moto state machine: executions are recorded, not run) and the bus, all on moto;
and helpers that make a stuck state by hand."""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

import inventory.dal
import orders.dal
import payments.dal
import reconciler.dal
from inventory.dal.repository import InventoryRepository
from inventory.models import Product, Reservation, ReservationStatus
from orders.dal.repository import OrdersRepository, order_key, outbox_key
from orders.events import order_placed
from orders.models import Order, OrderStatus, PricedLine
from payments.dal.repository import PaymentsRepository
from payments.models import Authorization, AuthorizationStatus
from reconciler.dal.lease import LeaseTable
from reconciler.dal.saga import SagaExecutions
from reconciler.logic.jobs import (
    Job,
    OutboxJob,
    PaymentsJob,
    ReservationsJob,
    StalledOrdersJob,
)
from reconciler.logic.run import Limits
from shared_kernel.models import OrderLine
from shared_kernel.publisher import EventPublisher
from tests.unit.domain_common.fixtures import BUS_NAME, REGION, TABLE_ENV, BusSpy, create_table

LEASE_TABLE = "leases-test"
SKU = "SKU-REC-001"
GRACE = timedelta(seconds=120)
SLA = timedelta(seconds=300)
MAX_RESTARTS = 2
LONG_AGO = datetime.now(UTC) - timedelta(hours=1)
LIMITS = Limits(
    lease=timedelta(seconds=90), margin=timedelta(seconds=5), page_size=100, max_pages=10
)


@pytest.fixture(autouse=True)
def _fresh(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LEASE_TABLE", LEASE_TABLE)
    monkeypatch.setenv(
        "STATE_MACHINE_ARN", f"arn:aws:states:{REGION}:123456789012:stateMachine:saga-test"
    )
    for module in (orders.dal, inventory.dal, payments.dal, reconciler.dal):
        module.reset()
    yield
    for module in (orders.dal, inventory.dal, payments.dal, reconciler.dal):
        module.reset()


@dataclass
class World:
    """The moto AWS the reconciler works on, and hand-made stuck states."""

    orders: OrdersRepository
    inventory: InventoryRepository
    payments: PaymentsRepository
    leases: LeaseTable
    saga: SagaExecutions
    bus: BusSpy
    publisher: EventPublisher

    def jobs(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Job]:
        return [
            OutboxJob(self.orders, self.publisher, GRACE, clock),
            StalledOrdersJob(self.orders, self.saga, SLA, MAX_RESTARTS, clock),
            ReservationsJob(self.inventory, self.orders, self.publisher, GRACE, clock),
            PaymentsJob(self.payments, self.orders, self.publisher, GRACE, clock),
        ]

    # -- hand-made states ---------------------------------------------------------------

    def placed_order(self, *, created_at: datetime = LONG_AGO, relayed: bool = True) -> Order:
        """An order placed through the API `created_at`, its OrderPlaced outbox item written
        then too, and SENT if `relayed` (the relay did its job), PENDING otherwise."""
        order = Order(
            order_id=str(uuid.uuid4()),
            customer_id="customer-1",
            status=OrderStatus.PENDING,
            items=[PricedLine(sku=SKU, quantity=2, unit_price=Decimal("5.00"))],
            total=Decimal("10.00"),
            correlation_id="corr-1",
            created_at=created_at,
            updated_at=created_at,
        )
        placed = order_placed(order)
        self.orders.create_order(order, placed, "tok_ok")
        self.orders_table.update_item(
            Key=outbox_key(placed.id),
            UpdateExpression="SET createdAt = :then",
            ExpressionAttributeValues={":then": created_at.isoformat()},
        )
        if relayed:
            assert self.orders.mark_outbox_sent(placed.id)
            self.orders_table.update_item(
                Key=outbox_key(placed.id),
                UpdateExpression="SET sentAt = :then",
                ExpressionAttributeValues={":then": created_at.isoformat()},
            )
        return order

    def order_item(self, order_id: str) -> dict[str, Any]:
        return self.orders_table.get_item(Key=order_key(order_id))["Item"]

    def set_order(self, order_id: str, **attributes: Any) -> None:
        names = {f"#{name}": name for name in attributes}
        values = {f":{name}": value for name, value in attributes.items()}
        self.orders_table.update_item(
            Key=order_key(order_id),
            UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in attributes),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def outbox_item(self, event_id: str) -> dict[str, Any]:
        return self.orders_table.get_item(Key=outbox_key(event_id))["Item"]

    def outbox(self, event_type: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self.orders_table.scan()["Items"]
            if item["sk"] == "OUTBOX" and item["eventType"] == event_type
        ]

    def reservation(self, order_id: str, *, updated_at: datetime = LONG_AGO) -> Reservation:
        """A live reservation of 2 x SKU for `order_id`, last changed `updated_at`."""
        return self.inventory.add_reservation(
            Reservation(
                order_id=order_id,
                status=ReservationStatus.RESERVED,
                lines=[OrderLine(sku=SKU, quantity=2)],
                created_at=updated_at,
                updated_at=updated_at,
            )
        )

    def authorization(self, order_id: str, *, updated_at: datetime = LONG_AGO) -> Authorization:
        """An AUTHORIZED payment of 10.00 for `order_id`, last changed `updated_at`."""
        return self.payments.add_authorization(
            Authorization(
                order_id=order_id,
                status=AuthorizationStatus.AUTHORIZED,
                amount=Decimal("10.00"),
                authorization_id=f"auth-{order_id}",
                created_at=updated_at,
                updated_at=updated_at,
            )
        )

    def payment_status(self, order_id: str) -> str:
        authorization = self.payments.get_authorization(order_id)
        assert authorization is not None
        return authorization.status.value

    def stock(self) -> dict[str, int]:
        product = self.inventory.get_product(SKU)
        assert product is not None
        return {"available": product.available, "reserved": product.reserved, "sold": product.sold}

    def executions(self) -> list[dict[str, Any]]:
        client = boto3.client("stepfunctions", region_name=REGION)
        listed = client.list_executions(stateMachineArn=self.saga.state_machine_arn)
        return [dict(execution) for execution in listed["executions"]]

    @property
    def orders_table(self) -> Any:
        return boto3.resource("dynamodb", region_name=REGION).Table(TABLE_ENV["ORDERS_TABLE"])


@pytest.fixture
def world(mocked_aws: None) -> World:
    create_table(TABLE_ENV["ORDERS_TABLE"], stream=True)
    create_table(TABLE_ENV["PRODUCTS_TABLE"])
    create_table(TABLE_ENV["PAYMENTS_TABLE"])
    create_table(LEASE_TABLE)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="saga-test",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/saga-test",
    )["stateMachineArn"]
    spy = BusSpy()
    inventory_repository = InventoryRepository(TABLE_ENV["PRODUCTS_TABLE"])
    inventory_repository.put_product(
        Product(sku=SKU, name="Reconciled mug", price=Decimal("5.00"), available=10),
        overwrite=True,
    )
    return World(
        orders=OrdersRepository(TABLE_ENV["ORDERS_TABLE"]),
        inventory=inventory_repository,
        payments=PaymentsRepository(TABLE_ENV["PAYMENTS_TABLE"]),
        leases=LeaseTable(LEASE_TABLE),
        saga=SagaExecutions(machine),
        bus=spy,
        publisher=EventPublisher(boto3.client("events", region_name=REGION), BUS_NAME),
    )
