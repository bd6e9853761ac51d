"""The chaos runner's invariants on plain data: for each rule, a snapshot it passes and one it
fails (orderflow_cli.chaos_invariants)."""

from __future__ import annotations

from dataclasses import replace

from orderflow_cli.chaos_invariants import (
    Authorization,
    OrderState,
    Snapshot,
    Stock,
    Verdict,
    authorizations_balance,
    check,
    dead_letters_explained,
    every_order_terminal,
    no_reservation_left,
    one_outcome_event,
    outbox_drained,
    percentile,
    stock_balances,
    stock_never_negative,
)


def settled() -> Snapshot:
    """Three orders: one confirmed, one declined (never authorised), one cancelled after its
    payment was authorised (voided); 2 units of MUG sold."""
    return Snapshot(
        placed=["o1", "o2", "o3"],
        orders={
            "o1": OrderState("o1", "CONFIRMED", lines={"MUG": 2}),
            "o2": OrderState("o2", "CANCELLED", "PAYMENT_DECLINED", {"MUG": 1}),
            "o3": OrderState("o3", "CANCELLED", "SHIPMENT_TIMEOUT", {"TEE": 1}),
        },
        history={
            "o1": ["OrderPlaced", "InventoryReserved", "OrderConfirmed"],
            "o2": ["OrderPlaced", "OrderCancelled"],
            "o3": ["OrderPlaced", "PaymentVoided", "OrderCancelled"],
        },
        reservations={"o1": "COMMITTED", "o2": "RELEASED", "o3": "RELEASED"},
        authorizations={
            "o1": Authorization("AUTHORIZED", authorized=True),
            "o2": Authorization("DECLINED", authorized=False),
            "o3": Authorization("VOIDED", authorized=True),
        },
        stock_before={"MUG": Stock(10), "TEE": Stock(5)},
        stock_after={"MUG": Stock(8), "TEE": Stock(5)},
        stock_seen=[{"MUG": Stock(7, 3), "TEE": Stock(4, 1)}],
        outbox_pending=[],
        dead_letters=[
            {
                "logicalId": "ProjectorDlq",
                "depth": 1,
                "inFlight": 0,
                "messages": [{"messageId": "m1", "reason": {"kind": "redrive", "summary": "x"}}],
            }
        ],
    )


def failing(verdict: Verdict, needle: str) -> bool:
    return (
        not verdict.holds and verdict.violations >= 1 and any(needle in e for e in verdict.examples)
    )


def test_a_settled_run_passes_every_rule() -> None:
    verdicts = check(settled())
    assert [v.name for v in verdicts if not v.holds] == []
    assert {v.name: v.checked for v in verdicts}["terminal"] == 3


def test_an_order_pending_or_missing_is_not_terminal() -> None:
    snap = settled()
    snap.orders = {**snap.orders, "o2": replace(snap.orders["o2"], status="PENDING")}
    snap.placed = [*snap.placed, "o4"]
    verdict = every_order_terminal(snap)
    assert verdict.violations == 2
    assert failing(verdict, "o2: PENDING") and failing(verdict, "o4: no order")


def test_stock_below_zero_in_a_sample_or_after() -> None:
    assert stock_never_negative(settled()).holds
    snap = settled()
    snap.stock_seen = [{"MUG": Stock(-1, 3)}]
    assert failing(stock_never_negative(snap), "MUG (sample 1): available -1")


def test_stock_balances_with_confirmed_units_only() -> None:
    assert stock_balances(settled()).holds
    snap = settled()
    snap.stock_after = {"MUG": Stock(7), "TEE": Stock(5)}  # one unit more than o1 took
    assert failing(stock_balances(snap), "MUG: available fell by 3, confirmed orders took 2")


def test_stock_balances_counts_others_orders_placed_meanwhile() -> None:
    snap = settled()
    snap.stock_after = {"MUG": Stock(7), "TEE": Stock(5)}
    snap.foreign = {"x": OrderState("x", "CONFIRMED", lines={"MUG": 1})}
    assert stock_balances(snap).holds
    snap.pending_at_start = [OrderState("p", "PENDING", lines={"TEE": 1})]
    assert failing(stock_balances(snap), "TEE: another's order p was pending")


def test_a_sku_only_others_pending_orders_name_is_excluded_not_failed() -> None:
    snap = settled()
    snap.stock_before = {**snap.stock_before, "HAT": Stock(9)}
    snap.stock_after = {**snap.stock_after, "HAT": Stock(8)}  # reserved by another's order
    snap.foreign = {"x": OrderState("x", "PENDING", lines={"HAT": 1})}
    verdict = stock_balances(snap)
    assert verdict.holds
    assert verdict.excluded == ["HAT: another's order x was pending: cannot balance"]
    assert verdict.checked == 2
    snap.foreign = {}
    assert failing(stock_balances(snap), "HAT: available fell by 1, confirmed orders took 0")


def test_a_reservation_left_for_a_cancelled_order() -> None:
    assert no_reservation_left(settled()).holds
    snap = settled()
    snap.reservations = {**snap.reservations, "o2": "RESERVED"}
    assert failing(no_reservation_left(snap), "o2 (CANCELLED): reservation RESERVED")


def test_a_cancelled_order_never_reserved_has_no_reservation() -> None:
    snap = settled()
    snap.reservations = {**snap.reservations, "o2": None}
    assert no_reservation_left(snap).holds
    snap.reservations = {**snap.reservations, "o1": "RESERVED"}  # confirmed, never committed
    assert failing(no_reservation_left(snap), "o1 (CONFIRMED): reservation RESERVED")


def test_an_authorization_kept_for_a_cancelled_order() -> None:
    assert authorizations_balance(settled()).holds
    snap = settled()
    snap.authorizations = {**snap.authorizations, "o3": Authorization("AUTHORIZED", True)}
    verdict = authorizations_balance(snap)
    assert failing(verdict, "2 authorizations kept for 1 CONFIRMED orders")
    assert failing(verdict, "o3 (CANCELLED): authorization AUTHORIZED, not voided")


def test_a_confirmed_order_without_its_authorization() -> None:
    snap = settled()
    snap.authorizations = {k: v for k, v in snap.authorizations.items() if k != "o1"}
    assert failing(authorizations_balance(snap), "o1 (CONFIRMED): authorization None")


def test_outcome_events_exactly_one_and_matching() -> None:
    assert one_outcome_event(settled()).holds
    snap = settled()
    snap.history = {
        **snap.history,
        "o1": ["OrderPlaced", "OrderConfirmed", "OrderConfirmed"],
        "o2": ["OrderPlaced"],
        "o3": ["OrderPlaced", "OrderConfirmed"],
    }
    verdict = one_outcome_event(snap)
    assert verdict.violations == 3
    assert failing(verdict, "o1 (CONFIRMED): 2 outcome events")
    assert failing(verdict, "o2 (CANCELLED): 0 outcome events")
    assert failing(verdict, "o3 (CANCELLED): its history says OrderConfirmed")


def test_an_outbox_item_left_pending() -> None:
    assert outbox_drained(settled()).holds
    snap = settled()
    snap.outbox_pending = ["e1 (OrderConfirmed of o1)"]
    assert failing(outbox_drained(snap), "e1 (OrderConfirmed of o1)")


def test_dead_letters_listed_with_a_reason_then_empty_after_redrive() -> None:
    assert dead_letters_explained(settled()).holds
    snap = settled()
    snap.dead_letters = [{**snap.dead_letters[0], "depth": 2}]  # one not listed
    assert failing(dead_letters_explained(snap), "ProjectorDlq: 1 of 2 listed")
    snap.dead_letters = [{**snap.dead_letters[0], "depth": 1, "messages": [{"messageId": "m"}]}]
    assert failing(dead_letters_explained(snap), "m without a reason")

    after = settled()
    after.after_redrive = True
    after.dead_letters = [{"logicalId": "ProjectorDlq", "depth": 0, "inFlight": 0}]
    assert dead_letters_explained(after).name == "DLQs empty"
    assert dead_letters_explained(after).holds
    after.dead_letters = [{"logicalId": "ProjectorDlq", "depth": 1, "inFlight": 0}]
    assert failing(dead_letters_explained(after), "1 message(s) left after redrive")


def test_a_poison_message_there_before_the_run_is_excluded_not_blamed_on_it() -> None:
    # Given a DLQ that held a message about an earlier order before the run
    after = settled()
    after.after_redrive = True
    after.dead_letters_before = frozenset({"OrderPlaced o-earlier"})
    earlier = {"messageId": "m2", "about": "OrderPlaced o-earlier", "reason": {"kind": "redrive"}}
    ours = {"messageId": "m3", "about": "OrderPlaced o1", "reason": {"kind": "redrive"}}

    # When it is the only one left after the redrive (moved back: a new message id)
    after.dead_letters = [
        {"logicalId": "ProjectorDlq", "depth": 1, "inFlight": 0, "messages": [earlier]}
    ]

    # Then the DLQs count as empty, and the message is listed as excluded
    verdict = dead_letters_explained(after)
    assert verdict.holds
    assert verdict.excluded == ["ProjectorDlq: OrderPlaced o-earlier (there before the run)"]

    # But a message of the run's beside it is still a violation
    after.dead_letters = [
        {"logicalId": "ProjectorDlq", "depth": 2, "inFlight": 0, "messages": [earlier, ours]}
    ]
    assert failing(dead_letters_explained(after), "1 message(s) left after redrive")


def test_a_message_about_another_subject_than_the_run_s_orders_is_not_the_run_s() -> None:
    # Given, after the redrive, a DLQ holding a malformed OrderPlaced another client sent
    # about its own order while the run went on (it came back: a redrive cannot cure it)
    after = settled()
    after.after_redrive = True
    other = {"messageId": "m4", "about": "OrderPlaced o-other", "subject": "o-other"}
    untold = {"messageId": "m5", "about": "{not an event", "subject": None}
    after.dead_letters = [
        {"logicalId": "ProjectorDlq", "depth": 1, "inFlight": 0, "messages": [other]}
    ]

    # Then it is excluded, and named as not about the run's orders
    verdict = dead_letters_explained(after)
    assert verdict.holds
    assert verdict.excluded == ["ProjectorDlq: OrderPlaced o-other (not about the run's orders)"]

    # But one about an order of the run, or one whose subject cannot be told, is the run's
    for message in ({**other, "subject": "o2", "about": "OrderPlaced o2"}, untold):
        after.dead_letters = [
            {"logicalId": "ProjectorDlq", "depth": 1, "inFlight": 0, "messages": [message]}
        ]
        assert failing(dead_letters_explained(after), "1 message(s) left after redrive")


def test_examples_are_bounded_but_every_violation_counted() -> None:
    snap = settled()
    snap.outbox_pending = [f"e{i}" for i in range(25)]
    verdict = outbox_drained(snap)
    assert verdict.violations == 25
    assert len(verdict.examples) == 10


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([3.0], 0.95) == 3
