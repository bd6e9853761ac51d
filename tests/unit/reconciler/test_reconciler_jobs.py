"""Each job repairs a stuck state made by hand, and a second run finds nothing to fix."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from orders.logic.lifecycle import DEFAULT_REASON, SAGA_NOT_STARTED
from payments.events import PAYMENT_VOIDED
from reconciler.logic.jobs import execution_name
from reconciler.logic.run import Limits, reconcile
from reconciler.models import RunReport
from shared_kernel.cloudevents import derived_event_id
from shared_kernel.fencing import FencedOff
from tests.unit.domain_common.fixtures import REGION
from tests.unit.reconciler.conftest import LIMITS, MAX_RESTARTS, World

MINUTE = timedelta(minutes=1)


def run(world: World, owner: str = "r", limits: Limits = LIMITS) -> RunReport:
    report = reconcile(
        owner,
        world.leases,
        world.jobs(),
        limits,
        clock=lambda: datetime.now(UTC),
        time_left=lambda: MINUTE,
    )
    assert report.acquired and not report.fenced_off
    return report


def outcomes(report: RunReport, job: str) -> dict[str, int]:
    [found] = [j for j in report.jobs if j.job == job]
    return dict(found.outcomes)


def fixed(report: RunReport) -> dict[str, int]:
    return {job.job: job.fixed for job in report.jobs}


# -- outbox ------------------------------------------------------------------------------


def test_a_stuck_outbox_item_is_published_again_with_its_id_and_marked_sent(
    world: World,
) -> None:
    world.placed_order(relayed=False)
    [item] = world.outbox("OrderPlaced")
    event_id = item["pk"].removeprefix("OUTBOX#")

    first = run(world)

    assert outcomes(first, "outbox") == {"republished": 1}
    [delivered] = world.bus.delivered()
    assert delivered["detail"]["id"] == event_id  # the same event: consumers dedupe
    stored = world.outbox_item(event_id)
    assert stored["status"] == "SENT" and "sentAt" in stored
    assert stored["attempts"] == 1 and stored["reconcilerToken"] == first.token
    second = run(world, owner="r2")
    assert outcomes(second, "outbox") == {} and second.token == (first.token or 0) + 1
    assert len(world.bus.delivered()) == 1


def test_an_outbox_item_within_its_grace_period_is_left_to_the_relay(world: World) -> None:
    world.placed_order(created_at=datetime.now(UTC), relayed=False)
    assert outcomes(run(world), "outbox") == {}
    assert world.bus.delivered() == []


# -- stalled orders ----------------------------------------------------------------------


def test_a_pending_order_whose_saga_never_started_gets_one_with_a_deterministic_name(
    world: World,
) -> None:
    order = world.placed_order()  # OrderPlaced SENT an hour ago; no execution claimed it

    first = run(world)

    assert outcomes(first, "stalled_orders") == {"saga_restarted": 1}
    [execution] = world.executions()
    assert execution["name"] == execution_name(order.order_id, 1)
    stored = world.order_item(order.order_id)
    assert stored["sagaExecution"] == execution["executionArn"] and stored["sagaRestarts"] == 1
    sfn = boto3.client("stepfunctions", region_name=REGION)
    started = sfn.describe_execution(executionArn=execution["executionArn"])
    envelope = json.loads(started["input"])
    assert envelope["detail-type"] == "OrderPlaced" and envelope["source"] == "orderflow.orders"
    assert envelope["detail"]["id"] == stored["placedEventId"]
    # the restarted saga's input carries no payment token: it stays in the orders store
    assert "paymentToken" not in envelope["detail"]["data"]
    # the restarted saga runs: the next run leaves the order alone
    second = run(world, owner="r2")
    assert outcomes(second, "stalled_orders") == {"saga_running": 1}
    assert fixed(second)["stalled_orders"] == 0 and len(world.executions()) == 1


def test_a_restart_whose_execution_never_appeared_is_attempted_again(world: World) -> None:
    order = world.placed_order()
    ghost = world.saga.execution_arn(execution_name(order.order_id, 1))
    world.set_order(order.order_id, sagaExecution=ghost, sagaRestarts=1)

    assert outcomes(run(world), "stalled_orders") == {"saga_restarted": 1}
    [execution] = world.executions()
    assert execution["name"] == execution_name(order.order_id, 2)


def test_after_its_bound_of_restarts_a_stalled_order_is_cancelled_saga_not_started(
    world: World,
) -> None:
    order = world.placed_order()
    ghost = world.saga.execution_arn(execution_name(order.order_id, MAX_RESTARTS))
    world.set_order(order.order_id, sagaExecution=ghost, sagaRestarts=MAX_RESTARTS)

    first = run(world)

    assert outcomes(first, "stalled_orders") == {"cancelled": 1}
    stored = world.order_item(order.order_id)
    assert stored["status"] == "CANCELLED" and stored["reason"] == SAGA_NOT_STARTED
    # published as CancelOrder would: OrderCancelled in the outbox, written with the change
    [cancelled] = world.outbox("OrderCancelled")
    assert cancelled["status"] == "PENDING" and SAGA_NOT_STARTED in cancelled["event"]
    assert world.executions() == []
    assert outcomes(run(world, owner="r2"), "stalled_orders") == {}


def test_an_order_with_no_order_placed_to_restart_from_is_cancelled(world: World) -> None:
    order = world.placed_order()
    world.set_order(order.order_id, placedEventId="gone")
    assert outcomes(run(world), "stalled_orders") == {"cancelled": 1}
    assert world.order_item(order.order_id)["reason"] == SAGA_NOT_STARTED


def test_an_order_whose_saga_ended_without_settling_it_is_cancelled_saga_failed(
    world: World,
) -> None:
    order = world.placed_order()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=world.saga.state_machine_arn, name="original")[
        "executionArn"
    ]
    sfn.stop_execution(executionArn=arn)  # ABORTED
    world.set_order(order.order_id, sagaExecution=arn)

    assert outcomes(run(world), "stalled_orders") == {"cancelled": 1}
    assert world.order_item(order.order_id)["reason"] == DEFAULT_REASON


def test_an_order_whose_order_placed_is_still_in_the_outbox_waits_for_it(world: World) -> None:
    order = world.placed_order(relayed=False)
    report = run(world)
    assert outcomes(report, "outbox") == {"republished": 1}
    assert outcomes(report, "stalled_orders") == {"awaiting_saga": 1}
    assert world.order_item(order.order_id)["status"] == "PENDING"
    assert world.executions() == []


def test_an_order_within_its_sla_is_left_alone(world: World) -> None:
    world.placed_order(created_at=datetime.now(UTC) - timedelta(seconds=10))
    assert outcomes(run(world), "stalled_orders") == {}


# -- reservations ------------------------------------------------------------------------


def test_a_live_reservation_of_a_cancelled_order_is_released(world: World) -> None:
    order = world.placed_order()
    world.reservation(order.order_id)
    world.set_order(order.order_id, status="CANCELLED", reason="OUT_OF_STOCK")
    assert world.stock() == {"available": 8, "reserved": 2, "sold": 0}

    first = run(world)

    assert outcomes(first, "reservations") == {"released": 1}
    assert world.stock() == {"available": 10, "reserved": 0, "sold": 0}
    reservation = world.inventory.get_reservation(order.order_id)
    assert reservation is not None and reservation.status == "RELEASED"
    assert world.bus.detail_types() == ["InventoryReleased"]
    assert outcomes(run(world, owner="r2"), "reservations") == {}
    assert world.stock() == {"available": 10, "reserved": 0, "sold": 0}


def test_a_live_reservation_of_a_confirmed_order_is_committed(world: World) -> None:
    order = world.placed_order()
    world.reservation(order.order_id)
    world.set_order(order.order_id, status="CONFIRMED")

    assert outcomes(run(world), "reservations") == {"committed": 1}
    assert world.stock() == {"available": 8, "reserved": 0, "sold": 2}
    assert outcomes(run(world, owner="r2"), "reservations") == {}


def test_a_reservation_of_a_pending_or_missing_order_is_left_alone(world: World) -> None:
    pending = world.placed_order(created_at=datetime.now(UTC))  # not stalled yet
    world.reservation(pending.order_id)
    world.reservation("no-such-order")

    report = run(world)

    assert outcomes(report, "reservations") == {"order_pending": 1, "order_missing": 1}
    assert fixed(report)["reservations"] == 0
    assert world.stock() == {"available": 6, "reserved": 4, "sold": 0}


# -- payments ----------------------------------------------------------------------------


def test_an_authorized_payment_of_a_cancelled_order_is_voided(world: World) -> None:
    order = world.placed_order()
    world.authorization(order.order_id)
    world.set_order(order.order_id, status="CANCELLED", reason=DEFAULT_REASON)

    first = run(world)

    assert outcomes(first, "payments") == {"voided": 1}
    assert world.payment_status(order.order_id) == "VOIDED"
    # published as the VoidPayment compensation would: same type, same derived id
    [delivered] = world.bus.delivered()
    assert delivered["detail-type"] == PAYMENT_VOIDED
    assert delivered["detail"]["id"] == derived_event_id(
        order.correlation_id, order.order_id, PAYMENT_VOIDED
    )
    assert delivered["detail"]["data"]["authorizationId"] == f"auth-{order.order_id}"
    second = run(world, owner="r2")
    assert outcomes(second, "payments") == {}
    assert len(world.bus.delivered()) == 1


def test_an_authorized_payment_of_a_confirmed_or_pending_order_is_left_alone(
    world: World,
) -> None:
    confirmed = world.placed_order()
    world.authorization(confirmed.order_id)
    world.set_order(confirmed.order_id, status="CONFIRMED")
    pending = world.placed_order(created_at=datetime.now(UTC))  # not stalled yet
    world.authorization(pending.order_id)

    report = run(world)

    assert outcomes(report, "payments") == {"order_confirmed": 1, "order_pending": 1}
    assert fixed(report)["payments"] == 0
    assert world.payment_status(confirmed.order_id) == "AUTHORIZED"
    assert world.payment_status(pending.order_id) == "AUTHORIZED"
    assert world.bus.delivered() == []


def test_a_payment_within_its_grace_period_is_left_to_the_saga(world: World) -> None:
    order = world.placed_order()
    world.authorization(order.order_id, updated_at=datetime.now(UTC))
    world.set_order(order.order_id, status="CANCELLED", reason=DEFAULT_REASON)
    assert outcomes(run(world), "payments") == {}
    assert world.payment_status(order.order_id) == "AUTHORIZED"


def test_a_fenced_off_holders_void_is_refused_and_changes_nothing(world: World) -> None:
    order = world.placed_order()
    world.authorization(order.order_id)
    world.set_order(order.order_id, status="CANCELLED", reason=DEFAULT_REASON)
    now = datetime.now(UTC)
    old = world.leases.acquire("a", now, MINUTE)
    new = world.leases.acquire("b", now + 2 * MINUTE, MINUTE)
    assert old is not None and new is not None
    [job] = [job for job in world.jobs() if job.name == "payments"]
    [authorization] = job.page(None, 10).items

    with pytest.raises(FencedOff):
        job.repair(authorization, old.fence)

    assert world.payment_status(order.order_id) == "AUTHORIZED"
    assert world.bus.delivered() == []
    # the current holder's fence lets the same void through
    assert job.repair(authorization, new.fence) == "voided"
    assert world.payment_status(order.order_id) == "VOIDED"


# -- bounded work ------------------------------------------------------------------------


def test_a_run_reads_at_most_its_pages_and_the_next_resumes_from_the_cursor(
    world: World,
) -> None:
    for _ in range(4):
        world.placed_order(relayed=False, created_at=datetime.now(UTC) - timedelta(seconds=200))
    small = Limits(lease=LIMITS.lease, margin=LIMITS.margin, page_size=1, max_pages=2)

    runs = [run(world, owner=f"r{index}", limits=small) for index in range(12)]

    outbox = [j for r in runs for j in r.jobs if j.job == "outbox"]
    assert all(job.found <= 2 for job in outbox)  # 2 pages of 1 item read per run
    assert sum(job.fixed for job in outbox) == 4 and len(world.bus.delivered()) == 4
    assert any(not job.complete for job in outbox)  # some runs stopped part-way


def test_a_run_past_its_deadline_does_nothing(world: World) -> None:
    world.placed_order(relayed=False)
    report = reconcile(
        "late",
        world.leases,
        world.jobs(),
        LIMITS,
        clock=lambda: datetime.now(UTC),
        time_left=lambda: LIMITS.margin,  # no time left beyond the safety margin
    )
    assert report.acquired and all(job.found == 0 for job in report.jobs)
    assert world.bus.delivered() == []
