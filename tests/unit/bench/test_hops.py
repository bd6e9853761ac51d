"""The hop benchmark's reading of a trace: which span is which hop, and the times between
them (bench/hops.py)."""

from bench.hops import HOPS, PROJECTED, RELAY_CONFIRMED, RELAY_PLACED, SAGA, locate, measure
from orderflow_cli.names import DisplayNames
from orderflow_cli.spans import Span

RELAY_FUNCTION = "Orderflow-OrdersOutboxRelay-1a2b"
PROJECTOR_FUNCTION = "Orderflow-OrdersProjector-3c4d"
NAMES = DisplayNames(
    known={RELAY_FUNCTION: "orders/outbox-relay", PROJECTOR_FUNCTION: "orders/projector"}
)


def span(name: str, start_ms: float, took_ms: float | None, **http: str) -> Span:
    end = None if took_ms is None else (start_ms + took_ms) / 1000
    return Span("1-t", name, None, name, start_ms / 1000, end, "segment", http={"request": http})


def api(method: str, path: str, start_ms: float, took_ms: float) -> Span:
    url = f"http://127.0.0.1:4566/_aws/execute-api/abc/prod{path}"
    return span("orderflow-dev-api/prod", start_ms, took_ms, method=method, url=url)


def one_order(confirm_projected_ms: float | None = 12.0) -> list[Span]:
    steps = [
        span(step, start, took)
        for step, start, took in (
            ("RecordOrder", 70, 20),
            ("ReserveInventory", 90, 20),
            ("AuthorizePayment", 110, 90),
            ("ScheduleShipment", 200, 40),
            ("ConfirmOrder", 240, 30),
            ("CommitInventory", 270, 20),
        )
    ]
    spans = [
        api("POST", "/orders", 0, 30),
        api("GET", "/orders/ord-1", 35, 5),  # a follower's GET: not the POST
        span(RELAY_FUNCTION, 40, 30),
        span("saga", 55, 240),
        span(PROJECTOR_FUNCTION, 100, 10),  # OrderPlaced's: before OrderConfirmed was relayed
        *steps,
        span(RELAY_FUNCTION, 300, 30),
        span(PROJECTOR_FUNCTION, 320, confirm_projected_ms),
    ]
    return sorted(spans, key=lambda s: s.start)


def test_each_hop_is_the_first_span_of_its_name_after_the_hop_it_follows() -> None:
    located = locate(one_order(), NAMES)

    assert {name: round(s.start * 1000) for name, s in located.items() if s} == {
        "POST /orders answered (202)": 0,
        RELAY_PLACED: 40,
        SAGA: 55,
        "- RecordOrder": 70,
        "- ReserveInventory": 90,
        "- AuthorizePayment": 110,
        "- ScheduleShipment": 200,
        "- ConfirmOrder": 240,
        "- CommitInventory": 270,
        RELAY_CONFIRMED: 300,  # the second relay, not OrderPlaced's
        PROJECTED: 320,  # after OrderConfirmed was relayed, not OrderPlaced's projection
    }


def test_gaps_run_from_the_hop_each_waits_for() -> None:
    timed = dict(zip((hop.name for hop in HOPS), measure([one_order()], NAMES), strict=True))

    assert [round(g) for g in timed["- RecordOrder"].gap_ms] == [15]  # from the saga's start
    assert [round(g) for g in timed["- AuthorizePayment"].gap_ms] == [0]  # from Reserve's end
    assert [round(g) for g in timed[RELAY_CONFIRMED].gap_ms] == [30]  # from Confirm's end
    assert [round(g) for g in timed[PROJECTED].gap_ms] == [20]  # from the relay's start
    assert [round(t) for t in timed[PROJECTED].took_ms] == [12]


def test_a_hop_whose_span_has_not_ended_is_counted_missing() -> None:
    timed = measure([one_order(confirm_projected_ms=None), one_order()], NAMES)

    projected = timed[[hop.name for hop in HOPS].index(PROJECTED)]
    assert projected.missing == 1 and len(projected.took_ms) == 1


def test_an_order_whose_post_was_not_traced_lacks_every_hop() -> None:
    without_post = [s for s in one_order() if not s.operation.startswith("POST")]

    timed = measure([without_post, one_order()], NAMES)

    assert all(times.missing == 1 and len(times.start_ms) == 1 for times in timed)
