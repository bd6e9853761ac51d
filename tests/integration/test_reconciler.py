"""The reconciler on the emulator: the lease lets one invocation work at a time, a former
holder is fenced off, and each job repairs a stuck state made by hand.

The schedule rule is disabled while these tests run (``paused_schedule``), so the only
invocations are the tests' own: each test invokes the function directly and asserts on what
it returned and what changed. Each run reads the whole table (``whole_table_per_run``), so the
tests hold on an emulator that benchmarks filled. (That the rule fires on the emulator is
checked by hand, see docs/resilience/reconciler.md: schedule rules fire every minute.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from emulator.clients import client, session
from orders.dal.repository import OrdersRepository, order_key, outbox_key, payment_token_item
from orders.dal.views import view_key
from orders.events import order_placed
from orders.logic.lifecycle import SAGA_NOT_STARTED
from orders.models import Order, OrderStatus, PricedLine
from reconciler.dal.lease import lease_key
from shared_kernel.fencing import Fence, FencedOff
from tests.integration.support import eventually, invoke, stocked_product

LONG_AGO = datetime.now(UTC) - timedelta(hours=1)
PRICE = Decimal("12.50")


@pytest.fixture(scope="module")
def paused_schedule(outputs: dict[str, str]) -> Iterator[None]:
    """The schedule rule disabled for this module, enabled again afterwards."""
    events = client("events")
    events.disable_rule(Name=outputs["ReconcilerRuleName"])
    yield
    events.enable_rule(Name=outputs["ReconcilerRuleName"])


@pytest.fixture(scope="module")
def whole_table_per_run(outputs: dict[str, str], lambda_client: Any) -> Iterator[None]:
    """Each run may read up to 1000 pages of 1000 items per job, from the table's start.

    Deployed, a run reads 10 pages of 100 items per job and the next one resumes at its cursor,
    so on an orders table that benchmarks filled (5,600 items after a few of them) the item a
    test made by hand could be several runs away, and every test here invokes the reconciler
    once. The budget is restored afterwards."""
    name = outputs["ReconcilerFunctionName"]
    deployed = lambda_client.get_function_configuration(FunctionName=name)["Environment"]
    whole = {**deployed["Variables"], "PAGE_SIZE": "1000", "MAX_PAGES": "1000"}
    _configure(lambda_client, name, whole)
    leases = session().resource("dynamodb").Table(outputs["ReconcilerLeaseTableName"])
    if leases.get_item(Key=lease_key("reconciler"), ConsistentRead=True).get("Item"):
        # the next run starts at the table's start, not where an earlier run stopped
        leases.update_item(Key=lease_key("reconciler"), UpdateExpression="REMOVE cursors")
    yield
    _configure(lambda_client, name, deployed["Variables"])


def _configure(lambda_client: Any, name: str, variables: dict[str, str]) -> None:
    lambda_client.update_function_configuration(
        FunctionName=name, Environment={"Variables": variables}
    )
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)


@pytest.fixture
def reconciler(
    outputs: dict[str, str], lambda_client: Any, paused_schedule: None, whole_table_per_run: None
) -> Iterator[Reconciler]:
    tool = Reconciler(outputs, lambda_client)
    tool.expire_lease()  # a run the schedule started before it was paused, or a failed test
    yield tool
    tool.expire_lease()


@pytest.fixture
def sku(lambda_client: Any, outputs: dict[str, str]) -> str:
    return stocked_product(lambda_client, outputs, price=str(PRICE), available=100)


class Reconciler:
    """Invokes the deployed reconciler; reads and writes its tables as a test needs."""

    def __init__(self, outputs: dict[str, str], lambda_client: Any) -> None:
        self.outputs = outputs
        self.lambda_client = lambda_client
        dynamodb = session().resource("dynamodb")
        self.orders_table = dynamodb.Table(outputs["OrdersTableName"])
        self.views_table = dynamodb.Table(outputs["OrderViewsTableName"])
        self.products_table = dynamodb.Table(outputs["ProductsTableName"])
        self.payments_table = dynamodb.Table(outputs["PaymentsTableName"])
        self.lease_table = dynamodb.Table(outputs["ReconcilerLeaseTableName"])
        self.orders = OrdersRepository(outputs["OrdersTableName"], dynamodb)

    def run(self) -> dict[str, Any]:
        response, payload = invoke(self.lambda_client, self.outputs["ReconcilerFunctionName"])
        assert "FunctionError" not in response, payload
        return payload

    def lease(self) -> dict[str, Any]:
        return self.lease_table.get_item(Key=lease_key("reconciler"), ConsistentRead=True).get(
            "Item", {}
        )

    def expire_lease(self) -> None:
        if self.lease():
            self.lease_table.update_item(
                Key=lease_key("reconciler"),
                UpdateExpression="SET expiresAt = :past",
                ExpressionAttributeValues={":past": 0},
            )

    def hold_lease(self, owner: str, token: int, expires: datetime) -> None:
        """Write the lease as another holder would have acquired it."""
        self.lease_table.put_item(
            Item={
                **lease_key("reconciler"),
                "owner": owner,
                "token": token,
                "expiresAt": int(expires.timestamp() * 1000),
            }
        )

    # -- stuck states, made by hand -------------------------------------------------------

    def order(self, sku: str, status: OrderStatus = OrderStatus.PENDING) -> Order:
        return Order(
            order_id=f"rec-{uuid.uuid4()}",
            customer_id="customer-reconciler-it",
            status=status,
            items=[PricedLine(sku=sku, quantity=3, unit_price=PRICE)],
            total=PRICE * 3,
            correlation_id=f"corr-{uuid.uuid4()}",
            created_at=LONG_AGO,
            updated_at=LONG_AGO,
        )

    def stuck_outbox_item(self, order: Order) -> str:
        """The order's OrderPlaced as an outbox item the relay gave up on: written as the
        order's writer does, then left PENDING by a failed attempt an hour ago (a MODIFY that
        changes `attempts`, which the relay never relays: its own bookkeeping). The order
        itself is not written: RecordOrder creates it from the event, as for a bus-sent one."""
        placed = order_placed(order)
        self.orders_table.put_item(Item=payment_token_item(order.order_id, "tok_ok"))
        self.orders_table.put_item(
            Item={
                **outbox_key(placed.id),
                "status": "FAILED-BY-HAND",  # not PENDING: the relay's filter lets nothing by
                "event": placed.to_json(),
                "eventType": placed.type,
                "orderId": order.order_id,
                "attempts": 0,
                "createdAt": LONG_AGO.isoformat(),
            }
        )
        self.orders_table.update_item(
            Key=outbox_key(placed.id),
            UpdateExpression="SET #status = :pending, lastError = :error ADD attempts :one",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":pending": "PENDING", ":error": "by hand", ":one": 1},
        )
        return placed.id

    def order_without_saga(self, order: Order, **attributes: Any) -> str:
        """An order placed through the API an hour ago whose OrderPlaced was published (SENT)
        but never started a saga; `attributes` are added to the order item."""
        placed = order_placed(order)
        self.orders_table.put_item(Item=payment_token_item(order.order_id, "tok_ok"))
        item = order.model_dump(mode="json", by_alias=True, exclude_none=True)
        item["total"] = order.total
        item["items"] = [line.model_dump(by_alias=True) for line in order.items]
        self.orders_table.put_item(
            Item={
                **order_key(order.order_id),
                **item,
                "placedEventId": placed.id,
                **attributes,
            }
        )
        self.orders_table.put_item(
            Item={
                **outbox_key(placed.id),
                "status": "SENT",
                "event": placed.to_json(),
                "eventType": placed.type,
                "orderId": order.order_id,
                "attempts": 0,
                "createdAt": LONG_AGO.isoformat(),
                "sentAt": LONG_AGO.isoformat(),
            }
        )
        return placed.id

    def reserve_by_hand(self, order_id: str, sku: str, quantity: int) -> None:
        """A live reservation, its stock moved from available to reserved, an hour ago."""
        self.products_table.update_item(
            Key={"pk": f"SKU#{sku}", "sk": "PRODUCT"},
            UpdateExpression="SET available = available - :q, reserved = reserved + :q",
            ExpressionAttributeValues={":q": quantity},
        )
        self.products_table.put_item(
            Item={
                "pk": f"RESERVATION#{order_id}",
                "sk": "RESERVATION",
                "orderId": order_id,
                "status": "RESERVED",
                "lines": [{"sku": sku, "quantity": quantity}],
                "createdAt": LONG_AGO.isoformat(),
                "updatedAt": LONG_AGO.isoformat(),
            }
        )

    def authorize_by_hand(self, order: Order) -> None:
        """An AUTHORIZED payment of the order's total, an hour ago (its void never ran)."""
        self.payments_table.put_item(
            Item={
                "pk": f"AUTH#{order.order_id}",
                "sk": "AUTH",
                "orderId": order.order_id,
                "status": "AUTHORIZED",
                "amount": order.total,
                "authorizationId": f"auth-{order.order_id}",
                "createdAt": LONG_AGO.isoformat(),
                "updatedAt": LONG_AGO.isoformat(),
            }
        )

    def payment(self, order_id: str) -> dict[str, Any]:
        return self.item(self.payments_table, {"pk": f"AUTH#{order_id}", "sk": "AUTH"})

    # -- reads ----------------------------------------------------------------------------

    def item(self, table: Any, key: dict[str, str]) -> dict[str, Any]:
        return table.get_item(Key=key, ConsistentRead=True).get("Item", {})

    def stock(self, sku: str) -> dict[str, int]:
        item = self.item(self.products_table, {"pk": f"SKU#{sku}", "sk": "PRODUCT"})
        return {name: int(item.get(name, 0)) for name in ("available", "reserved", "sold")}

    def view(self, order_id: str) -> dict[str, Any]:
        return self.item(self.views_table, view_key(order_id))

    def recorded(self, order_id: str, event_id: str) -> bool:
        return event_id in self.view(order_id).get("history", {})


def job(report: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [j for j in report["jobs"] if j["job"] == name]
    return found


def test_two_reconcilers_invoked_at_once_repair_a_stuck_event_once(
    reconciler: Reconciler, sku: str
) -> None:
    order = reconciler.order(sku)
    event_id = reconciler.stuck_outbox_item(order)
    token_before = int(reconciler.lease().get("token", 0))

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: reconciler.run(), range(2)))

    acquired = [report for report in reports if report["acquired"]]
    refused = [report for report in reports if not report["acquired"]]
    # each acquisition took a new token; a refused one names the holder and did nothing
    assert sorted(report["token"] for report in acquired) == list(
        range(token_before + 1, token_before + 1 + len(acquired))
    )
    assert all(report["jobs"] == [] and report["holder"] for report in refused)
    # the stuck event was published by exactly one of them, once
    assert sum(job(report, "outbox")["fixed"] for report in acquired) == 1
    stored = reconciler.item(reconciler.orders_table, outbox_key(event_id))
    assert stored["status"] == "SENT" and stored["attempts"] == 2  # by hand + one claim
    # and it went on as any OrderPlaced does: recorded in the read model, the saga ran
    eventually(lambda: reconciler.recorded(order.order_id, event_id), timeout_s=60)
    assert eventually(
        lambda: reconciler.view(order.order_id).get("status") == "CONFIRMED", timeout_s=90
    )


def test_a_held_lease_refuses_and_an_expired_holder_is_fenced_off(
    reconciler: Reconciler, sku: str
) -> None:
    event_id = reconciler.stuck_outbox_item(reconciler.order(sku))
    token = int(reconciler.lease().get("token", 0)) + 1
    # another reconciler holds the lease (token `token`) for five more minutes
    reconciler.hold_lease("paused-holder", token, datetime.now(UTC) + timedelta(minutes=5))

    refused = reconciler.run()

    assert not refused["acquired"] and refused["holder"]["owner"] == "paused-holder"
    assert reconciler.item(reconciler.orders_table, outbox_key(event_id))["status"] == "PENDING"

    # its lease expires (it was paused); the next invocation takes over with the next token
    reconciler.expire_lease()
    took_over = reconciler.run()
    assert took_over["acquired"] and took_over["token"] == token + 1
    assert job(took_over, "outbox")["fixed"] == 1

    # the paused holder wakes up and writes with its token: refused, nothing changes
    second = reconciler.stuck_outbox_item(reconciler.order(sku))
    before = reconciler.item(reconciler.orders_table, outbox_key(second))
    stale = Fence(reconciler.outputs["ReconcilerLeaseTableName"], lease_key("reconciler"), token)
    with pytest.raises(FencedOff):
        reconciler.orders.mark_outbox_sent(second, fence=stale)
    with pytest.raises(FencedOff):
        reconciler.orders.claim_outbox_retry(second, stale)
    assert reconciler.item(reconciler.orders_table, outbox_key(second)) == before


def test_a_pending_order_whose_saga_never_started_gets_one_and_completes(
    reconciler: Reconciler, sku: str
) -> None:
    order = reconciler.order(sku)
    reconciler.order_without_saga(order)

    report = reconciler.run()

    assert job(report, "stalled_orders")["outcomes"].get("saga_restarted", 0) >= 1
    stored = reconciler.item(reconciler.orders_table, order_key(order.order_id))
    assert stored["sagaRestarts"] == 1
    assert stored["sagaExecution"].endswith(f":reconcile-1-{order.order_id}")
    execution = client("stepfunctions").describe_execution(executionArn=stored["sagaExecution"])
    assert json.loads(execution["input"])["detail"]["subject"] == order.order_id
    assert eventually(
        lambda: (
            reconciler.item(reconciler.orders_table, order_key(order.order_id))["status"]
            == "CONFIRMED"
        ),
        timeout_s=90,
    )
    # a second run finds the order settled: nothing to do for it
    again = reconciler.run()
    assert job(again, "stalled_orders")["fixed"] == 0


def test_a_stalled_order_past_its_restarts_is_cancelled_with_the_reason(
    reconciler: Reconciler, sku: str
) -> None:
    order = reconciler.order(sku)
    machine = reconciler.outputs["SagaStateMachineArn"]
    never_ran = machine.replace(":stateMachine:", ":execution:") + ":reconcile-2-" + "gone"
    reconciler.order_without_saga(order, sagaExecution=never_ran, sagaRestarts=2)

    report = reconciler.run()

    assert job(report, "stalled_orders")["outcomes"].get("cancelled", 0) >= 1
    stored = reconciler.item(reconciler.orders_table, order_key(order.order_id))
    assert stored["status"] == "CANCELLED" and stored["reason"] == SAGA_NOT_STARTED
    # OrderCancelled went out through the outbox, as CancelOrder's does: the read model has it
    view = eventually(
        lambda: (
            reconciler.view(order.order_id)
            if reconciler.view(order.order_id).get("status") == "CANCELLED"
            else None
        ),
        timeout_s=60,
    )
    assert view["reason"] == SAGA_NOT_STARTED


def test_a_reservation_of_a_cancelled_order_is_released_and_its_stock_restored(
    reconciler: Reconciler, sku: str
) -> None:
    order = reconciler.order(sku, OrderStatus.CANCELLED)
    reconciler.order_without_saga(order, reason="OUT_OF_STOCK")
    reconciler.reserve_by_hand(order.order_id, sku, 3)
    assert reconciler.stock(sku) == {"available": 97, "reserved": 3, "sold": 0}

    report = reconciler.run()

    assert job(report, "reservations")["outcomes"].get("released", 0) >= 1
    assert reconciler.stock(sku) == {"available": 100, "reserved": 0, "sold": 0}
    reservation = reconciler.item(
        reconciler.products_table, {"pk": f"RESERVATION#{order.order_id}", "sk": "RESERVATION"}
    )
    assert reservation["status"] == "RELEASED"
    assert job(reconciler.run(), "reservations")["fixed"] == 0
    assert reconciler.stock(sku) == {"available": 100, "reserved": 0, "sold": 0}


def test_an_authorized_payment_of_a_cancelled_order_is_voided(
    reconciler: Reconciler, sku: str
) -> None:
    order = reconciler.order(sku, OrderStatus.CANCELLED)
    reconciler.order_without_saga(order, reason="SAGA_FAILED")
    reconciler.authorize_by_hand(order)
    confirmed = reconciler.order(sku, OrderStatus.CONFIRMED)
    reconciler.order_without_saga(confirmed)
    reconciler.authorize_by_hand(confirmed)

    report = reconciler.run()

    assert job(report, "payments")["outcomes"].get("voided", 0) >= 1
    assert job(report, "payments")["outcomes"].get("order_confirmed", 0) >= 1
    assert reconciler.payment(order.order_id)["status"] == "VOIDED"
    assert reconciler.payment(confirmed.order_id)["status"] == "AUTHORIZED"
    again = reconciler.run()
    assert job(again, "payments")["outcomes"].get("voided", 0) == 0
    assert reconciler.payment(order.order_id)["status"] == "VOIDED"
