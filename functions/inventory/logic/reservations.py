"""Reservation rules (no I/O).

Stock accounting, per product: `available` can be sold, `reserved` is held for orders whose
saga is running, `sold` left with confirmed orders. Reserving moves available -> reserved,
releasing moves reserved -> available, committing moves reserved -> sold, so
`available + reserved + sold` never changes except by restocking (the seed).
"""

from collections import defaultdict
from collections.abc import Iterable

from inventory.models import ReservationStatus
from shared_kernel.models import OrderLine

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
