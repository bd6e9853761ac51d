"""The invariants ``orderflow chaos run`` checks, as rules over plain data (no I/O here: the
store reads are in ``chaos_stores``, so every rule is unit-tested on hand-made snapshots).

What a rule is given is read from the system's own stores after the run (orders, products and
payments tables, the order's history in the read model, the outbox, the DLQs); the runner's
memory contributes only the ids of the orders it placed and the stock snapshot it took before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"
TERMINAL = frozenset({CONFIRMED, CANCELLED})
OUTCOME_EVENTS = {"OrderConfirmed": CONFIRMED, "OrderCancelled": CANCELLED}
RESERVATION_AFTER: dict[str, set[str | None]] = {
    CONFIRMED: {"COMMITTED"},
    CANCELLED: {"RELEASED", None},
}
"""What an order's reservation must be once the order is settled (None: never reserved)."""
EXAMPLES = 10
"""Offending ids shown per invariant (all of them are counted)."""


@dataclass(frozen=True)
class OrderState:
    """An order's write model (pk=ORDER#<id>, sk=ORDER): status and the units it asked for."""

    order_id: str
    status: str
    reason: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # sku -> quantity
    customer_id: str = ""


@dataclass(frozen=True)
class Authorization:
    status: str  # AUTHORIZED | DECLINED | VOIDED
    authorized: bool  # the provider authorised it (an authorizationId was recorded)


@dataclass(frozen=True)
class Stock:
    available: int
    reserved: int = 0


@dataclass
class Snapshot:
    """What the stores say about the run's orders once the system settled."""

    placed: Sequence[str]
    orders: Mapping[str, OrderState]  # missing: no ORDER item for that id
    history: Mapping[str, Sequence[str]] = field(default_factory=dict)  # id -> event types
    reservations: Mapping[str, str | None] = field(default_factory=dict)  # id -> status
    authorizations: Mapping[str, Authorization] = field(default_factory=dict)
    stock_before: Mapping[str, Stock] = field(default_factory=dict)
    stock_after: Mapping[str, Stock] = field(default_factory=dict)
    stock_seen: Sequence[Mapping[str, Stock]] = ()  # samples taken while the run went on
    foreign: Mapping[str, OrderState] = field(default_factory=dict)  # others' orders meanwhile
    pending_at_start: Sequence[OrderState] = ()  # orders not terminal when stock was read
    outbox_pending: Sequence[str] = ()  # outbox items still PENDING ("<eventId> (<orderId>)")
    dead_letters: Sequence[Mapping[str, Any]] = ()  # `orderflow dlq --json`'s queues
    dead_letters_before: frozenset[str] = frozenset()  # what DLQ messages were about at start
    after_redrive: bool = False


@dataclass
class Verdict:
    name: str
    rule: str
    checked: int
    violations: int
    examples: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # not checked, and why

    @property
    def holds(self) -> bool:
        return self.violations == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rule": self.rule,
            "checked": self.checked,
            "violations": self.violations,
            "holds": self.holds,
            "examples": self.examples,
            "excluded": self.excluded,
        }


def _verdict(name: str, rule: str, checked: int, offending: Iterable[str]) -> Verdict:
    found = list(offending)
    return Verdict(name, rule, checked, len(found), found[:EXAMPLES])


def every_order_terminal(snap: Snapshot) -> Verdict:
    bad = []
    for order_id in snap.placed:
        order = snap.orders.get(order_id)
        if order is None:
            bad.append(f"{order_id}: no order in the orders table")
        elif order.status not in TERMINAL:
            bad.append(f"{order_id}: {order.status}")
    return _verdict("terminal", "every order CONFIRMED or CANCELLED", len(snap.placed), bad)


def stock_never_negative(snap: Snapshot) -> Verdict:
    bad = []
    readings = [*snap.stock_seen, snap.stock_after]
    for index, reading in enumerate(readings):
        when = "after" if index == len(readings) - 1 else f"sample {index + 1}"
        for sku, stock in sorted(reading.items()):
            if stock.available < 0 or stock.reserved < 0:
                bad.append(
                    f"{sku} ({when}): available {stock.available}, reserved {stock.reserved}"
                )
    checked = sum(len(reading) for reading in readings)
    return _verdict("stock >= 0", "no SKU's available or reserved stock below zero", checked, bad)


def stock_balances(snap: Snapshot) -> Verdict:
    """Per SKU: initial available - available now = units of the CONFIRMED orders that could
    have moved it (the run's and others' created meanwhile: both read from the orders table).

    Others' orders are detected, not assumed away: a SKU named by an order that was pending
    when the stock was read (it may have reserved already), or by another's order still
    pending now, cannot be balanced; it is excluded and listed as such, unless one of the
    run's orders names it too (then the run cannot conclude: a violation)."""
    confirmed: Counter[str] = Counter()
    ours: set[str] = set()
    for order_id in snap.placed:
        order = snap.orders.get(order_id)
        if order is not None:
            ours.update(order.lines)
            if order.status == CONFIRMED:
                confirmed.update(order.lines)
    for order in snap.foreign.values():
        if order.status == CONFIRMED:
            confirmed.update(order.lines)
    unsettled = [*snap.pending_at_start]
    unsettled += [order for order in snap.foreign.values() if order.status not in TERMINAL]
    unknown = {sku: order.order_id for order in unsettled for sku in order.lines}
    bad: list[str] = []
    excluded: list[str] = []
    for sku, before in sorted(snap.stock_before.items()):
        after = snap.stock_after.get(sku)
        if after is None:
            bad.append(f"{sku}: gone from the products table")
            continue
        dropped = before.available - after.available
        if sku in unknown:
            note = f"{sku}: another's order {unknown[sku]} was pending: cannot balance"
            (bad if sku in ours else excluded).append(note)
        elif dropped != confirmed[sku]:
            bad.append(
                f"{sku}: available fell by {dropped}, confirmed orders took {confirmed[sku]}"
            )
    verdict = _verdict(
        "stock balance",
        "per SKU, initial - available = units of CONFIRMED orders",
        len(snap.stock_before) - len(excluded),
        bad,
    )
    verdict.excluded = excluded
    return verdict


def no_reservation_left(snap: Snapshot) -> Verdict:
    bad = []
    settled = _settled(snap)
    for order in settled:
        status = snap.reservations.get(order.order_id)
        if status not in RESERVATION_AFTER[order.status]:
            bad.append(f"{order.order_id} ({order.status}): reservation {status}")
    return _verdict(
        "reservations",
        "no reservation left: CANCELLED -> released (or none), CONFIRMED -> committed",
        len(settled),
        bad,
    )


def authorizations_balance(snap: Snapshot) -> Verdict:
    settled = _settled(snap)
    kept = [
        order_id
        for order_id in snap.placed
        if (auth := snap.authorizations.get(order_id)) and auth.status == "AUTHORIZED"
    ]
    confirmed = [order.order_id for order in settled if order.status == CONFIRMED]
    bad = []
    if len(kept) != len(confirmed):
        bad.append(f"{len(kept)} authorizations kept for {len(confirmed)} CONFIRMED orders")
    for order in settled:
        auth = snap.authorizations.get(order.order_id)
        if order.status == CONFIRMED and (auth is None or auth.status != "AUTHORIZED"):
            bad.append(f"{order.order_id} (CONFIRMED): authorization {auth and auth.status}")
        voidable = order.status == CANCELLED and auth is not None and auth.authorized
        if voidable and auth is not None and auth.status != "VOIDED":
            bad.append(f"{order.order_id} (CANCELLED): authorization {auth.status}, not voided")
    return _verdict(
        "authorizations",
        "authorizations kept = CONFIRMED orders; every one of a CANCELLED order voided",
        len(settled),
        bad,
    )


def one_outcome_event(snap: Snapshot) -> Verdict:
    bad = []
    for order in _settled(snap):
        outcomes = [kind for kind in snap.history.get(order.order_id, ()) if kind in OUTCOME_EVENTS]
        if len(outcomes) != 1:
            bad.append(f"{order.order_id} ({order.status}): {len(outcomes)} outcome events")
        elif OUTCOME_EVENTS[outcomes[0]] != order.status:
            bad.append(f"{order.order_id} ({order.status}): its history says {outcomes[0]}")
    return _verdict(
        "one outcome event",
        "each order's history has exactly one outcome event, matching its status",
        len(_settled(snap)),
        bad,
    )


def outbox_drained(snap: Snapshot) -> Verdict:
    return _verdict(
        "outbox", "no outbox item PENDING", len(snap.outbox_pending), snap.outbox_pending
    )


def dead_letters_explained(snap: Snapshot) -> Verdict:
    """Every message of every DLQ was listed, each with a reason (before the redrive); after
    it, every DLQ is empty. A message that is not the run's is excluded and listed as such:
    one about something a DLQ already held a message about before the run (a poison message
    from earlier, which a redrive cannot cure), or one whose event is about another subject
    than the run's orders (sent by someone else while the run went on: an order of another
    customer, a product). A message with no subject to tell stays the run's."""
    bad: list[str] = []
    excluded: list[str] = []
    messages = 0
    placed = set(snap.placed)
    for queue in snap.dead_letters:
        listed = queue.get("messages", [])
        depth = int(queue.get("depth", 0))
        messages += depth
        earlier = [m for m in listed if about(m) in snap.dead_letters_before]
        others = [
            m
            for m in listed
            if m not in earlier and m.get("subject") is not None and m["subject"] not in placed
        ]
        excluded += [f"{queue['logicalId']}: {about(m)} (there before the run)" for m in earlier]
        excluded += [
            f"{queue['logicalId']}: {about(m)} (not about the run's orders)" for m in others
        ]
        if snap.after_redrive:
            left = depth + int(queue.get("inFlight", 0)) - len(earlier) - len(others)
            if left > 0:
                bad.append(f"{queue['logicalId']}: {left} message(s) left after redrive")
            continue
        if len(listed) < depth:
            bad.append(f"{queue['logicalId']}: {len(listed)} of {depth} listed")
        bad += [
            f"{queue['logicalId']}: {message.get('messageId')} without a reason"
            for message in listed
            if not (message.get("reason") or {}).get("kind")
        ]
    if snap.after_redrive:
        verdict = _verdict("DLQs empty", "every DLQ empty after the redrive", messages, bad)
    else:
        verdict = _verdict("DLQs listed", "every DLQ message listed with its reason", messages, bad)
    verdict.excluded = excluded
    return verdict


def about(message: Mapping[str, Any]) -> str:
    """What a DLQ message is about (its event and subject), the same after a redrive moved it
    (its message id is not)."""
    return str(message.get("about") or message.get("messageId"))


def _settled(snap: Snapshot) -> list[OrderState]:
    return [
        order
        for order_id in snap.placed
        if (order := snap.orders.get(order_id)) is not None and order.status in TERMINAL
    ]


RULES = (
    every_order_terminal,
    stock_never_negative,
    stock_balances,
    no_reservation_left,
    authorizations_balance,
    one_outcome_event,
    outbox_drained,
    dead_letters_explained,
)


def check(snap: Snapshot) -> list[Verdict]:
    return [rule(snap) for rule in RULES]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0-1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]
