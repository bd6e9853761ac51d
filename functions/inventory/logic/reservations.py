"""Reservation rules (no I/O: the store and the bus are passed in).

Stock accounting, per product: `available` can be sold, `reserved` is held for orders whose
saga is running, `sold` left with confirmed orders. Reserving moves available -> reserved,
releasing moves reserved -> available, committing moves reserved -> sold, so
`available + reserved + sold` never changes except by restocking (the seed).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from inventory import events
from inventory.errors import OutOfStock, ReservationNotFound, ReservationReleased
from inventory.models import Reservation, ReservationStatus, ReserveInventoryInput
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.models import OrderLine, StepInput

# One TransactWriteItems holds at most 100 actions: the reservation item + one per SKU.
MAX_LINES_PER_RESERVATION = 99


def merge_lines(items: Iterable[OrderLine]) -> list[OrderLine]:
    """One line per SKU (quantities of repeated SKUs added up), in SKU order.

    A transaction may touch each product item once only, and a stable order keeps retries of
    the same request identical.
    """
    quantities: dict[str, int] = defaultdict(int)
    for item in items:
        quantities[item.sku] += item.quantity
    if not quantities:
        raise ValueError("a reservation needs at least one line")
    if len(quantities) > MAX_LINES_PER_RESERVATION:
        raise ValueError(f"a reservation holds at most {MAX_LINES_PER_RESERVATION} SKUs")
    return [OrderLine(sku=sku, quantity=quantities[sku]) for sku in sorted(quantities)]


def is_live(status: ReservationStatus) -> bool:
    """Only a live (RESERVED) reservation can be released or committed; releasing or
    committing anything else is a no-op, which makes both compensations idempotent."""
    return status is ReservationStatus.RESERVED


class ReservationStore(Protocol):
    def get_reservation(self, order_id: str) -> Reservation | None: ...

    def add_reservation(self, reservation: Reservation) -> Reservation: ...

    def settle(self, reservation: Reservation, target: ReservationStatus) -> Reservation: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


def reserve(step: ReserveInventoryInput, store: ReservationStore, bus: Publisher) -> Reservation:
    """Reserve every line of the order or none, once per order, and say so on the bus.

    A repeated call returns the first reservation (and publishes its event again: same id).
    OutOfStock is published as InventoryReservationFailed, then raised.

    Nothing is read first: the reservation's write is conditional on there being none for the
    order, and a refused one returns the stored reservation (``add_reservation``), so the
    first call is one transaction and only a repeated one reads.
    """
    now = datetime.now(UTC)
    try:
        reservation = store.add_reservation(
            Reservation(
                order_id=step.order_id,
                status=ReservationStatus.RESERVED,
                lines=merge_lines(step.items),
                created_at=now,
                updated_at=now,
            )
        )
    except OutOfStock as exc:
        bus.publish([events.inventory_reservation_failed(step, exc.reason, exc.sku)])
        raise
    if reservation.status is not ReservationStatus.RELEASED:  # a released one is history
        bus.publish([events.inventory_reserved(step, reservation.lines)])
    return reservation


def release(
    step: StepInput, store: ReservationStore, bus: Publisher
) -> tuple[Reservation | None, bool]:
    """Give a live reservation's stock back; returns (reservation, whether this call released
    it). Missing, released or committed ones are left as they are. InventoryReleased is
    published whenever the reservation ends RELEASED (again on a retry: same id)."""
    reservation = store.get_reservation(step.order_id)
    if reservation is None:
        return None, False
    changed = is_live(reservation.status)
    if changed:
        reservation = store.settle(reservation, ReservationStatus.RELEASED)
    if reservation.status is ReservationStatus.RELEASED:
        bus.publish([events.inventory_released(step, reservation.lines)])
    return reservation, changed and reservation.status is ReservationStatus.RELEASED


def commit(order_id: str, store: ReservationStore) -> Reservation:
    """Turn a live reservation into sold stock; a committed one is returned as is. Raises
    ReservationNotFound / ReservationReleased when there is no live reservation to commit."""
    reservation = store.get_reservation(order_id)
    if reservation is None:
        raise ReservationNotFound(order_id)
    if is_live(reservation.status):
        reservation = store.settle(reservation, ReservationStatus.COMMITTED)
    if reservation.status is ReservationStatus.RELEASED:
        raise ReservationReleased(order_id)
    return reservation
