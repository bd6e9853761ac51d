"""The lease: acquisition, renewal, release, takeover after expiry with a new token, and the
fence that keeps a former holder from writing after a takeover."""

from datetime import UTC, datetime, timedelta

import pytest

from inventory.models import ReservationStatus
from orders.models import OUTBOX_PENDING
from reconciler.logic.run import reconcile
from shared_kernel.dynamodb import Page
from shared_kernel.fencing import FencedOff
from tests.unit.reconciler.conftest import LIMITS, World

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_first_caller_gets_the_lease_with_token_1_and_a_second_is_refused(
    world: World,
) -> None:
    first = world.leases.acquire("a", T0, MINUTE)
    assert first is not None and first.token == 1 and first.expires_at == T0 + MINUTE
    assert world.leases.acquire("b", T0 + timedelta(seconds=59), MINUTE) is None
    assert world.leases.holder() == {
        "owner": "a",
        "token": 1,
        "expiresAt": (T0 + MINUTE).isoformat(),
    }


def test_renewal_extends_the_lease_and_keeps_its_token(world: World) -> None:
    lease = world.leases.acquire("a", T0, MINUTE)
    assert lease is not None
    renewed = world.leases.renew(lease, T0 + timedelta(seconds=50), MINUTE, {"outbox": None})
    assert renewed.token == 1 and renewed.expires_at == T0 + timedelta(seconds=110)
    # what would have been an expired lease without the renewal is still held
    assert world.leases.acquire("b", T0 + timedelta(seconds=70), MINUTE) is None


def test_an_expired_lease_is_taken_over_with_the_next_token(world: World) -> None:
    old = world.leases.acquire("a", T0, MINUTE)
    assert old is not None
    new = world.leases.acquire("b", T0 + MINUTE, MINUTE)
    assert new is not None and new.token == 2 and new.owner == "b"
    # the former holder can neither renew nor release what it no longer holds
    with pytest.raises(FencedOff):
        world.leases.renew(old, T0 + MINUTE, MINUTE, {})
    assert not world.leases.release(old, T0 + MINUTE)
    assert world.leases.holder()["owner"] == "b"  # type: ignore[index]


def test_a_released_lease_is_taken_at_once_and_the_token_still_grows(world: World) -> None:
    lease = world.leases.acquire("a", T0, MINUTE)
    assert lease is not None and world.leases.release(lease, T0 + timedelta(seconds=5))
    again = world.leases.acquire("b", T0 + timedelta(seconds=6), MINUTE)
    assert again is not None and again.token == 2


def test_a_fenced_off_former_holder_cannot_write_and_nothing_changes(world: World) -> None:
    """A holder paused past its lease: another took over; its fenced writes are refused by
    DynamoDB (the whole transaction), on every table it writes."""
    order = world.placed_order(relayed=False)
    [placed] = world.outbox("OrderPlaced")
    reservation = world.reservation(order.order_id)
    world.authorization(order.order_id)
    old = world.leases.acquire("a", T0, MINUTE)
    new = world.leases.acquire("b", T0 + 2 * MINUTE, MINUTE)
    assert old is not None and new is not None
    event_id = placed["pk"].removeprefix("OUTBOX#")
    before = (world.outbox_item(event_id), world.stock())

    with pytest.raises(FencedOff):
        world.orders.claim_outbox_retry(event_id, old.fence)
    with pytest.raises(FencedOff):
        world.orders.mark_outbox_sent(event_id, fence=old.fence)
    with pytest.raises(FencedOff):
        world.orders.reclaim_saga(
            world.orders.get_order_record(order.order_id),  # type: ignore[arg-type]
            "arn:aws:states:us-east-1:123456789012:execution:saga-test:x",
            old.fence,
        )
    with pytest.raises(FencedOff):
        world.inventory.settle(reservation, ReservationStatus.RELEASED, fence=old.fence)
    with pytest.raises(FencedOff):
        world.payments.mark_voided(order.order_id, fence=old.fence)

    assert (world.outbox_item(event_id), world.stock()) == before
    assert world.outbox_item(event_id)["status"] == OUTBOX_PENDING
    assert "sagaExecution" not in world.order_item(order.order_id)
    assert world.payment_status(order.order_id) == "AUTHORIZED"
    # the current holder's fence lets the same write through
    assert world.orders.mark_outbox_sent(event_id, fence=new.fence)


def test_two_reconcilers_started_at_once_only_one_does_the_work(world: World) -> None:
    """Deterministic interleaving: B starts while A holds the lease (between A's acquisition
    and its first job): B is refused and changes nothing; A repairs the stuck item once."""
    world.placed_order(relayed=False)
    runs = {}

    class StartBWhenAStarts:
        name = "start-b"
        fixes = frozenset[str]()

        def page(self, start, limit):
            runs["b"] = reconcile(
                "b", world.leases, world.jobs(), LIMITS, clock=now, time_left=lambda: MINUTE
            )
            return Page([], None)

        def repair(self, item, fence):
            raise AssertionError("no items")

    def now() -> datetime:
        return datetime.now(UTC)

    runs["a"] = reconcile(
        "a",
        world.leases,
        [StartBWhenAStarts(), *world.jobs()],
        LIMITS,
        clock=now,
        time_left=lambda: MINUTE,
    )
    a, b = runs["a"], runs["b"]
    assert a.acquired and a.token == 1 and not a.fenced_off
    assert not b.acquired and b.jobs == [] and b.holder["owner"] == "a"  # type: ignore[index]
    [outbox] = [job for job in a.jobs if job.job == "outbox"]
    assert outbox.fixed == 1
    assert world.bus.detail_types() == ["OrderPlaced"]  # published once
    [placed] = world.outbox("OrderPlaced")
    assert placed["status"] == "SENT"


def test_a_holder_whose_lease_expired_mid_run_is_fenced_off_and_the_taker_does_the_work(
    world: World,
) -> None:
    """A's clock passes its lease's expiry while it runs (a long pause); B takes the lease over
    and repairs everything; A's next write is refused, so A stops having changed nothing."""
    world.placed_order(relayed=False)
    clock = {"now": datetime.now(UTC)}
    runs = {}

    class PauseAUntilBTookOver:
        name = "pause"
        fixes = frozenset[str]()

        def page(self, start, limit):
            clock["now"] += LIMITS.lease + MINUTE  # A was paused past its lease
            runs["b"] = reconcile(
                "b",
                world.leases,
                world.jobs(lambda: clock["now"]),
                LIMITS,
                clock=lambda: clock["now"],
                time_left=lambda: MINUTE,
            )
            return Page([], None)

        def repair(self, item, fence):
            raise AssertionError("no items")

    runs["a"] = reconcile(
        "a",
        world.leases,
        [PauseAUntilBTookOver(), *world.jobs(lambda: clock["now"])],
        LIMITS,
        clock=lambda: clock["now"],
        time_left=lambda: MINUTE,
    )
    a, b = runs["a"], runs["b"]
    assert b.acquired and b.token == 2
    assert [(job.job, dict(job.outcomes)) for job in b.jobs] == [
        ("outbox", {"republished": 1}),
        ("stalled_orders", {"awaiting_saga": 1}),  # its OrderPlaced was just published
        ("reservations", {}),
        ("payments", {}),
    ]
    assert a.acquired and a.token == 1 and a.fenced_off
    assert [job.job for job in a.jobs] == ["pause"]  # its renewal was refused: it stopped
    assert world.bus.detail_types() == ["OrderPlaced"]
