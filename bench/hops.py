"""Where one order's time goes, hop by hop, read from its X-Ray trace.

Places ``--orders`` orders of a product of its own one at a time (``tok_ok``), follows each
with long polls until it is CONFIRMED, then reads the order's trace (as ``orderflow trace``
finds it) and places every hop on the order's clock: when it started after the POST, how long
it took, and the gap since the hop it waits for (a stream, the bus, a queue or a state
transition in between). Prints the
medians as a Markdown table, with ``GET /products`` measured in the same run as the floor the
one-at-a-time target is a multiple of.

Sampling: deploy with ``ORDERFLOW_TRACING='{"sample_everything": false}'`` and the POST is the
first request of its second, so X-Ray's reservoir samples it, as on AWS; the script waits
``--pause`` seconds between orders for that. An order whose trace lacks a hop is counted and
left out of that hop's row (an order whose POST was not sampled lacks them all).

    ORDERFLOW_TRACING='{"sample_everything": false}' make deploy
    .venvs/dev/bin/python -m bench.hops --orders 10
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.orders import api_floor, premium_api
from emulator.clients import client
from orderflow_cli.names import DisplayNames, display_names
from orderflow_cli.spans import Span
from orderflow_cli.stack import DEFAULT_STACK, StackRef
from orderflow_cli.trace import find_order_traces
from tests.integration.support import KeyedApi, stocked_product

ROOT = Path(__file__).resolve().parent.parent
SAGA_STEPS = (
    "RecordOrder",
    "ReserveInventory",
    "AuthorizePayment",
    "ScheduleShipment",
    "ConfirmOrder",
    "CommitInventory",
)
RELAY = "orders/outbox-relay"
PROJECTOR = "orders/projector"
TRACE_WAIT_S = 15.0

POST = "POST /orders answered (202)"
RELAY_PLACED = "outbox relay publishes OrderPlaced"
SAGA = "saga execution"
RELAY_CONFIRMED = "outbox relay publishes OrderConfirmed"
PROJECTED = "projector records OrderConfirmed"


@dataclass(frozen=True)
class Hop:
    """One hop of an order: the first span called ``span`` (None: API Gateway's segment of the
    ``POST /orders``) that starts at or after the span of hop ``after``; the gap before it is
    measured from ``since``: a hop's name and which edge of its span (``start`` or ``end``)."""

    name: str
    span: str | None
    after: str | None = None
    since: tuple[str, str] | None = None


def _steps() -> list[Hop]:
    hops, since = [], (SAGA, "start")  # the first step is inside the execution
    for step in SAGA_STEPS:
        hops.append(Hop(f"- {step}", step, after=SAGA, since=since))
        since = (f"- {step}", "end")
    return hops


HOPS = (
    Hop(POST, None),
    Hop(RELAY_PLACED, RELAY, after=POST, since=(POST, "end")),
    Hop(SAGA, "saga", after=RELAY_PLACED, since=(RELAY_PLACED, "start")),
    *_steps(),
    Hop(RELAY_CONFIRMED, RELAY, after="- ConfirmOrder", since=("- ConfirmOrder", "end")),
    Hop(PROJECTED, PROJECTOR, after=RELAY_CONFIRMED, since=(RELAY_CONFIRMED, "start")),
)
"""In the order they happen. The relay's span ends after its PutEvents and its mark-SENT
write, so what the event starts is measured from the relay's start."""


@dataclass
class Timed:
    """One hop's times across orders (ms), and how many orders' traces lacked it."""

    start_ms: list[float]
    took_ms: list[float]
    gap_ms: list[float]
    missing: int = 0


def place_and_follow(api: KeyedApi, sku: str, give_up_s: float = 60.0) -> tuple[str, datetime]:
    """POST an order of one ``sku`` and long-poll it until CONFIRMED; its id and when it was
    placed."""
    placed_at = datetime.now(UTC)
    order = {"items": [{"sku": sku, "quantity": 1}], "paymentToken": "tok_ok"}
    status, body = api.http("POST", "/orders", order)
    assert status == 202, body
    order_id = body["orderId"]
    deadline = time.monotonic() + give_up_s
    etag: str | None = None
    while time.monotonic() < deadline:
        headers = {"If-None-Match": etag} if etag else None
        answer = api.request("GET", f"/orders/{order_id}?wait=20", headers=headers)
        if answer.status == 200:
            etag = answer.headers["ETag"]
            if answer.body["status"] == "CONFIRMED":
                return order_id, placed_at
            assert answer.body["status"] != "CANCELLED", answer.body
        else:
            assert answer.status == 304, (answer.status, answer.body)  # the wait ran out
    raise AssertionError(f"order {order_id} not CONFIRMED within {give_up_s} s")


def order_spans(xray: Any, names: DisplayNames, order_id: str, placed_at: datetime) -> list[Span]:
    """Every span of the order's traces, by start; waits (bounded) until the last hop's span
    has arrived and ended."""
    deadline = time.monotonic() + TRACE_WAIT_S
    window = (placed_at - timedelta(seconds=5), placed_at + timedelta(minutes=2))
    while True:
        lookup = find_order_traces(xray, order_id, *window)
        spans = sorted((s for t in lookup.traces for s in t.spans), key=lambda s: s.start)
        last = locate(spans, names)[PROJECTED]
        if (last is not None and last.end is not None) or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


def locate(spans: list[Span], names: DisplayNames) -> dict[str, Span | None]:
    """Each hop's span (None: not in the trace); a span is known by its name or by the name
    people read (``orders/outbox-relay`` for the relay function's physical name)."""
    labels = names.labels(s.name for s in spans)
    found: dict[str, Span | None] = {}
    for hop in HOPS:
        if hop.span is None:
            found[hop.name] = next((s for s in spans if _is_the_post(s)), None)
            continue
        bound = found.get(hop.after) if hop.after else None
        after = bound.start if bound is not None else 0.0
        found[hop.name] = next(
            (s for s in spans if hop.span in (s.name, labels[s.name]) and s.start >= after), None
        )
    return found


def _is_the_post(span: Span) -> bool:
    """API Gateway's segment of the ``POST /orders`` that placed the order (the order's other
    traces are its GETs)."""
    operation = span.operation
    return (
        span.kind == "segment" and operation.startswith("POST ") and operation.endswith("/orders")
    )


def measure(orders: Sequence[list[Span]], names: DisplayNames) -> list[Timed]:
    """Per hop, across orders: start after the POST, duration, and gap since its ``since``.
    An order whose POST was not traced counts as missing every hop."""
    timed = [Timed([], [], []) for _ in HOPS]
    for spans in orders:
        located = locate(spans, names)
        if (post := located[POST]) is None:
            for times in timed:
                times.missing += 1
            continue
        origin = post.start
        for hop, times in zip(HOPS, timed, strict=True):
            span = located[hop.name]
            if span is None or span.end is None:
                times.missing += 1
                continue
            times.start_ms.append((span.start - origin) * 1000)
            times.took_ms.append((span.end - span.start) * 1000)
            if hop.since is not None and (before := located[hop.since[0]]) is not None:
                edge = before.start if hop.since[1] == "start" else before.end
                if edge is not None:
                    times.gap_ms.append((span.start - edge) * 1000)
    return timed


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f}" if values else "-"


def report(timed: list[Timed], floor_ms: list[float], traced: int, asked: int) -> str:
    lines = [
        f"{traced} of {asked} orders traced; GET /products p50 {statistics.median(floor_ms):.1f} ms"
        " (the floor; 15x of it is the one-at-a-time target)\n",
        "| hop | starts after the POST, p50 (ms) | takes, p50 (ms) "
        "| gap before it, p50 (ms) | orders without it |",
        "|---|---:|---:|---:|---:|",
    ]
    for hop, t in zip(HOPS, timed, strict=True):
        lines.append(
            f"| {hop.name} | {_median(t.start_ms)} | {_median(t.took_ms)} "
            f"| {_median(t.gap_ms)} | {t.missing} |"
        )
    last = timed[-1]
    if last.start_ms:
        end = statistics.median(s + d for s, d in zip(last.start_ms, last.took_ms, strict=True))
        lines.append(
            f"\nPOST -> OrderConfirmed recorded in the read model, p50: {end:,.0f} ms "
            f"= {end / statistics.median(floor_ms):.1f}x GET /products"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between orders")
    args = parser.parse_args(argv)
    stack = StackRef(outputs_file=ROOT / "outputs.json", name=DEFAULT_STACK)
    api = premium_api(stack.outputs)
    sku = stocked_product(client("lambda"), stack.outputs, available=args.orders)
    floor = api_floor(api, calls=30)
    xray = client("xray")
    placed = []
    for _ in range(args.orders):
        time.sleep(args.pause)  # the POST is the first request of its second: sampled
        placed.append(place_and_follow(api, sku))
    names = display_names(stack)
    orders = [order_spans(xray, names, order_id, at) for order_id, at in placed]
    timed = measure(orders, names)
    traced = args.orders - timed[0].missing  # the POST hop is missing when it was not traced
    print(report(timed, floor, traced, args.orders))


if __name__ == "__main__":
    main()
