"""The reconciler's jobs (no I/O: the owning services' stores, the saga and the bus are
passed in). Each job pages through the records that may be stuck and repairs each one through
the owning service's own rules (orders' outbox relay and settlement, inventory's release and
commit, payments' void), every write fenced by the lease. Each repair is idempotent: a second
run finds nothing, and a record a concurrent step settled meanwhile is left alone.

A side effect that cannot be conditional (PutEvents, StartExecution) comes after a fenced
write and is idempotent itself: events keep their id (consumers dedupe), executions have a
deterministic name (Step Functions starts a name once).
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from inventory.errors import ReservationReleased
from inventory.logic.reservations import commit, release
from inventory.models import Reservation, ReservationStatus
from orders import events as order_events
from orders.errors import OrderStateConflict
from orders.logic.lifecycle import DEFAULT_REASON, SAGA_NOT_STARTED
from orders.logic.orders import settle
from orders.logic.outbox import OutboxRelay, RelayOutcome
from orders.models import Order, OrderRecord, OrderStatus, OutboxItem
from payments.logic.authorization import void_payment
from payments.models import Authorization, AuthorizationStatus
from reconciler.models import Cursor, JobReport
from shared_kernel.cloudevents import CloudEvent, derived_event_id
from shared_kernel.dynamodb import Page
from shared_kernel.fencing import Fence, FencedOff
from shared_kernel.models import StepInput

RUNNING = "RUNNING"
MAX_EXECUTION_NAME = 80


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


class Job(Protocol):
    name: str
    fixes: frozenset[str]
    """The outcomes that count as fixed."""

    def page(self, start: Cursor, limit: int) -> Page[Any]: ...

    def repair(self, item: Any, fence: Fence) -> str: ...


@dataclass(frozen=True)
class Budget:
    """How much one job may do: pages of `page_size` items, until `deadline` (by `clock`)."""

    deadline: datetime
    clock: Callable[[], datetime]
    page_size: int
    max_pages: int

    def spent(self) -> bool:
        return self.clock() >= self.deadline


def run_job(job: Job, fence: Fence, start: Cursor, budget: Budget) -> tuple[JobReport, Cursor]:
    """Repair what `job` finds from `start`, within `budget`; returns the report and where the
    next run resumes. A page left unfinished is read again next time (repairs are idempotent).
    FencedOff propagates: the run must stop. Any other error fails its record alone."""
    report = JobReport(job=job.name, fixes=job.fixes)
    cursor = start
    for _ in range(budget.max_pages):
        if budget.spent():
            break
        page = job.page(cursor, budget.page_size)
        for item in page.items:
            if budget.spent():
                return report, cursor
            try:
                outcome = job.repair(item, fence)
            except FencedOff:
                raise
            except Exception as exc:  # one record's failure must not stop the others
                outcome = "failed"
                report.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            report.outcomes[outcome] += 1
        cursor = page.next_key
        if cursor is None:
            report.complete = True
            break
    return report, cursor


# -- outbox ------------------------------------------------------------------------------


class OutboxStore(Protocol):
    def pending_outbox(
        self, created_before: datetime, start: Cursor, limit: int
    ) -> Page[OutboxItem]: ...

    def claim_outbox_retry(self, event_id: str, fence: Fence) -> bool: ...

    def mark_outbox_sent(self, event_id: str, fence: Fence | None = None) -> bool: ...

    def record_outbox_failure(
        self, event_id: str, error: str, fence: Fence | None = None
    ) -> None: ...


@dataclass(frozen=True)
class _FencedOutbox:
    """orders' outbox store with every write fenced (the relay's OutboxStore port)."""

    store: OutboxStore
    fence: Fence

    def mark_outbox_sent(self, event_id: str) -> bool:
        return self.store.mark_outbox_sent(event_id, fence=self.fence)

    def record_outbox_failure(self, event_id: str, error: str) -> None:
        self.store.record_outbox_failure(event_id, error, fence=self.fence)


class OutboxJob:
    """Outbox items still PENDING after the grace period: published again (same event id),
    then marked SENT, exactly as the relay does (orders.logic.outbox.OutboxRelay)."""

    name = "outbox"
    fixes = frozenset({"republished"})

    def __init__(
        self,
        store: OutboxStore,
        publisher: Publisher,
        grace: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._grace = grace
        self._clock = clock

    def page(self, start: Cursor, limit: int) -> Page[OutboxItem]:
        return self._store.pending_outbox(self._clock() - self._grace, start, limit)

    def repair(self, item: OutboxItem, fence: Fence) -> str:
        # The fenced write first: a former holder stops here; then the idempotent publish.
        if not self._store.claim_outbox_retry(item.event_id, fence):
            return "sent_meanwhile"
        relay = OutboxRelay(_FencedOutbox(self._store, fence), self._publisher)
        outcome = relay.relay(item)
        return "republished" if outcome is RelayOutcome.SENT else "sent_meanwhile"


# -- stalled orders ----------------------------------------------------------------------


class OrderStore(Protocol):
    def stalled_orders(
        self, created_before: datetime, start: Cursor, limit: int
    ) -> Page[OrderRecord]: ...

    def get_outbox_event(self, event_id: str) -> tuple[CloudEvent, datetime | None] | None: ...

    def reclaim_saga(self, order: OrderRecord, execution_id: str, fence: Fence) -> bool: ...

    def require_order(self, order_id: str) -> Order: ...

    def settle_order(
        self,
        order: Order,
        target: OrderStatus,
        reason: str | None,
        outcome: CloudEvent,
        fence: Fence | None = None,
    ) -> Order | None: ...


class Saga(Protocol):
    @property
    def state_machine_arn(self) -> str: ...

    def execution_arn(self, name: str) -> str: ...

    def status(self, execution_arn: str) -> str | None: ...

    def start(self, name: str, execution_input: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class _FencedSettlement:
    """orders' settlement store with its write fenced (orders.logic.orders.settle's port)."""

    store: OrderStore
    fence: Fence

    def require_order(self, order_id: str) -> Order:
        return self.store.require_order(order_id)

    def settle_order(
        self, order: Order, target: OrderStatus, reason: str | None, outcome: CloudEvent
    ) -> Order | None:
        return self.store.settle_order(order, target, reason, outcome, fence=self.fence)


def execution_name(order_id: str, attempt: int) -> str:
    """The saga execution a restart starts: the same order and attempt always give the same
    name, so a repeated start is refused by Step Functions instead of running twice."""
    name = f"reconcile-{attempt}-{order_id}"
    if len(name) <= MAX_EXECUTION_NAME:
        return name
    return f"reconcile-{attempt}-{hashlib.sha256(order_id.encode()).hexdigest()[:48]}"


def bus_envelope(event: CloudEvent, state_machine_arn: str) -> dict[str, Any]:
    """The EventBridge event the saga's rule would have started the execution with."""
    region, account = state_machine_arn.split(":")[3:5]
    return {
        "version": "0",
        "id": derived_event_id(event.id, "reconciler-restart"),
        "detail-type": event.type,
        "source": event.source,
        "account": account,
        "time": event.to_dict()["time"],
        "region": region,
        "resources": [state_machine_arn],
        "detail": event.to_dict(),
    }


class StalledOrdersJob:
    """Orders PENDING past the SLA with no running saga.

    * Claimed by an execution that is RUNNING: left alone (a saga may take minutes).
    * Claimed by an execution that ended with the order still PENDING (a compensation failed
      for good): cancelled, reason ``SAGA_FAILED`` (restarting a saga that compensated halfway
      would run it forward again).
    * Never started (no claim, or the claimed execution does not exist): if its OrderPlaced is
      still PENDING in the outbox, or was SENT less than the SLA ago (the outbox job may just
      have published it), left to the saga's rule; otherwise the saga is started again from
      that OrderPlaced, named ``reconcile-<n>-<orderId>``,
      after a fenced write hands the order's claim to that execution; after
      ``max_restarts`` restarts, or with no OrderPlaced to start from, cancelled with
      ``SAGA_NOT_STARTED``. A cancellation writes OrderCancelled to the outbox in the same
      transaction, as CancelOrder does.
    """

    name = "stalled_orders"
    fixes = frozenset({"saga_restarted", "cancelled"})

    def __init__(
        self,
        store: OrderStore,
        saga: Saga,
        sla: timedelta,
        max_restarts: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._saga = saga
        self._sla = sla
        self._max_restarts = max_restarts
        self._clock = clock

    def page(self, start: Cursor, limit: int) -> Page[OrderRecord]:
        return self._store.stalled_orders(self._clock() - self._sla, start, limit)

    def repair(self, order: OrderRecord, fence: Fence) -> str:
        if order.saga_execution is not None:
            status = self._saga.status(order.saga_execution)
            if status == RUNNING:
                return "saga_running"
            if status is not None:
                return self._cancel(order, DEFAULT_REASON, fence)
        if order.saga_restarts >= self._max_restarts:
            return self._cancel(order, SAGA_NOT_STARTED, fence)
        return self._restart(order, fence)

    def _restart(self, order: OrderRecord, fence: Fence) -> str:
        """Start the saga again from the order's OrderPlaced, unless it is still on its way."""
        outbox = (
            self._store.get_outbox_event(order.placed_event_id) if order.placed_event_id else None
        )
        if outbox is None:  # nothing to start the saga from
            return self._cancel(order, SAGA_NOT_STARTED, fence)
        placed, sent_at = outbox
        if sent_at is None:
            return "awaiting_outbox"  # the outbox job publishes it; the rule starts the saga
        if sent_at > self._clock() - self._sla:
            return "awaiting_saga"  # published recently (by the outbox job): give it the SLA
        name = execution_name(order.order_id, order.saga_restarts + 1)
        # The fenced write first (the claim goes to the new execution), then the start, which
        # Step Functions does once per name.
        if not self._store.reclaim_saga(order, self._saga.execution_arn(name), fence):
            return "changed_meanwhile"
        self._saga.start(name, bus_envelope(placed, self._saga.state_machine_arn))
        return "saga_restarted"

    def _cancel(self, order: OrderRecord, reason: str, fence: Fence) -> str:
        step = StepInput(
            order_id=order.order_id,
            correlation_id=order.correlation_id,
            causation_id=order.placed_event_id,
        )
        try:
            _, changed = settle(
                order.order_id,
                OrderStatus.CANCELLED,
                reason,
                _FencedSettlement(self._store, fence),
                lambda stored: order_events.order_cancelled(stored, reason, step),
            )
        except OrderStateConflict:  # confirmed meanwhile
            return "settled_meanwhile"
        return "cancelled" if changed else "settled_meanwhile"


# -- reservations ------------------------------------------------------------------------


class ReservationStore(Protocol):
    def live_reservations(
        self, updated_before: datetime, start: Cursor, limit: int
    ) -> Page[Reservation]: ...

    def get_reservation(self, order_id: str) -> Reservation | None: ...

    def add_reservation(self, reservation: Reservation) -> Reservation: ...

    def settle(
        self, reservation: Reservation, target: ReservationStatus, fence: Fence | None = None
    ) -> Reservation: ...


class OrderReader(Protocol):
    def get_order_record(self, order_id: str) -> OrderRecord | None: ...


@dataclass(frozen=True)
class _FencedReservations:
    """inventory's reservation store with its settlement fenced (inventory.logic's port)."""

    store: ReservationStore
    fence: Fence

    def get_reservation(self, order_id: str) -> Reservation | None:
        return self.store.get_reservation(order_id)

    def add_reservation(self, reservation: Reservation) -> Reservation:
        raise NotImplementedError("the reconciler never reserves")

    def settle(self, reservation: Reservation, target: ReservationStatus) -> Reservation:
        return self.store.settle(reservation, target, fence=self.fence)


class ReservationsJob:
    """Reservations still RESERVED (past the grace period) for an order that is settled.

    * Order CANCELLED: released (stock back to available) and InventoryReleased published, as
      the ReleaseInventory compensation does (same event id).
    * Order CONFIRMED: committed (reserved -> sold), as CommitInventory does. Releasing it
      would put goods the customer bought and that are being shipped back on sale: the
      confirmed order's reservation is sold stock whose commit step did not finish.
    * Order PENDING (its saga, or the stalled-orders job, will settle it) or missing: left.
    """

    name = "reservations"
    fixes = frozenset({"released", "committed"})

    def __init__(
        self,
        store: ReservationStore,
        orders: OrderReader,
        publisher: Publisher,
        grace: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._orders = orders
        self._publisher = publisher
        self._grace = grace
        self._clock = clock

    def page(self, start: Cursor, limit: int) -> Page[Reservation]:
        return self._store.live_reservations(self._clock() - self._grace, start, limit)

    def repair(self, reservation: Reservation, fence: Fence) -> str:
        order = self._orders.get_order_record(reservation.order_id)
        if order is None:
            return "order_missing"
        if order.status is OrderStatus.PENDING:
            return "order_pending"
        store = _FencedReservations(self._store, fence)
        if order.status is OrderStatus.CANCELLED:
            step = StepInput(
                order_id=order.order_id,
                correlation_id=order.correlation_id,
                causation_id=order.placed_event_id,
            )
            _, released = release(step, store, self._publisher)
            return "released" if released else "settled_meanwhile"
        try:
            committed = commit(order.order_id, store)
        except ReservationReleased:
            return "settled_meanwhile"
        return "committed" if committed.status is ReservationStatus.COMMITTED else "failed"


# -- payments ----------------------------------------------------------------------------


class PaymentStore(Protocol):
    def authorized_payments(
        self, updated_before: datetime, start: Cursor, limit: int
    ) -> Page[Authorization]: ...

    def get_authorization(self, order_id: str) -> Authorization | None: ...

    def add_authorization(self, authorization: Authorization) -> Authorization: ...

    def mark_voided(
        self, order_id: str, fence: Fence | None = None
    ) -> tuple[Authorization | None, bool]: ...


@dataclass(frozen=True)
class _FencedPayments:
    """payments' authorisation store with its void fenced (payments.logic's port)."""

    store: PaymentStore
    fence: Fence

    def get_authorization(self, order_id: str) -> Authorization | None:
        return self.store.get_authorization(order_id)

    def add_authorization(self, authorization: Authorization) -> Authorization:
        raise NotImplementedError("the reconciler never authorises")

    def mark_voided(self, order_id: str) -> tuple[Authorization | None, bool]:
        return self.store.mark_voided(order_id, fence=self.fence)


class PaymentsJob:
    """Authorisations still AUTHORIZED (past the grace period) for an order that is cancelled.

    * Order CANCELLED: voided and PaymentVoided published, as the VoidPayment compensation
      does (same event id): the compensation failed for good, or the stalled-orders job
      cancelled the order (``SAGA_FAILED``) after its saga ended without settling it.
    * Order CONFIRMED: left (an authorised payment is what a confirmed order keeps).
    * Order PENDING (its saga, or the stalled-orders job, will settle it) or missing: left.
    """

    name = "payments"
    fixes = frozenset({"voided"})

    def __init__(
        self,
        store: PaymentStore,
        orders: OrderReader,
        publisher: Publisher,
        grace: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._orders = orders
        self._publisher = publisher
        self._grace = grace
        self._clock = clock

    def page(self, start: Cursor, limit: int) -> Page[Authorization]:
        return self._store.authorized_payments(self._clock() - self._grace, start, limit)

    def repair(self, authorization: Authorization, fence: Fence) -> str:
        order = self._orders.get_order_record(authorization.order_id)
        if order is None:
            return "order_missing"
        if order.status is OrderStatus.PENDING:
            return "order_pending"
        if order.status is OrderStatus.CONFIRMED:
            return "order_confirmed"
        step = StepInput(
            order_id=order.order_id,
            correlation_id=order.correlation_id,
            causation_id=order.placed_event_id,
        )
        stored, voided = void_payment(step, _FencedPayments(self._store, fence), self._publisher)
        if voided:
            return "voided"
        if stored is not None and stored.status is AuthorizationStatus.VOIDED:
            return "settled_meanwhile"
        return "failed"
