"""``orderflow trace <orderId>``: an order's X-Ray trace as a waterfall in the terminal, as
JSON (``--json``), as OTLP/JSON (``--otlp FILE``) and as a self-contained page (``--html``).

Finding the trace: every span the app makes carries the annotation ``order_id``, so
``GetTraceSummaries`` with the filter expression ``annotation.order_id = "<id>"`` over the
window names the order's trace (one per order: the trace context travels from ``POST
/orders`` through the outbox, the bus, the saga and the queues), then ``BatchGetTraces``
returns its documents, which ``orderflow_cli.spans`` merges into one tree. X-Ray answers a
summaries query for a bounded window, so a long ``--since`` is asked for in slices of
``SLICE`` (X-Ray keeps traces 30 days).

An endpoint whose X-Ray cannot evaluate filter expressions (moto's answers "not implemented")
is asked for every trace of the window instead; the order's traces are then those with a span
annotated with its id (said on stderr: it reads every trace of the window).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.bar import Bar
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orderflow_cli import trace_export
from orderflow_cli.names import NO_NAMES, DisplayNames, display_names
from orderflow_cli.spans import ORDER_ANNOTATION, Span, Trace, build_trace, documents_of
from orderflow_cli.stack import console, fail, import_functions, stack_of

import_functions()  # the order id's contract, from the shared kernel

from shared_kernel.models import ORDER_ID_PATTERN  # noqa: E402

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SLICE = timedelta(hours=6)
"""The longest window asked of GetTraceSummaries in one query."""
RETENTION = timedelta(days=30)
"""How long X-Ray keeps a trace: an older --since finds nothing more."""
BATCH = 5
"""BatchGetTraces takes at most 5 trace ids per call."""
FILTER_UNSUPPORTED = {"InternalFailure", "NotImplemented", "NotImplementedException"}
"""The error codes of an X-Ray that cannot evaluate a filter expression (moto: 500
``InternalFailure``, "Not implemented yet"). On AWS the filter works; were one of these a
passing AWS failure, scanning the window still finds the right traces, only slower."""
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``90m``, ``6h``, ``2d``, ``30s`` before now, or an ISO 8601 time (UTC without offset)."""
    now = now or datetime.now(UTC)
    if match := DURATION.match(value.strip()):
        return now - timedelta(**{UNITS[match[2]]: float(match[1])})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a duration (30s, 90m, 6h, 2d) nor an ISO 8601 time"
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed >= now:
        raise typer.BadParameter(f"{value!r} is not in the past")
    return parsed


def slices(
    start: datetime, end: datetime, width: timedelta = SLICE
) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most ``width``, oldest first."""
    found = []
    while start < end:
        found.append((start, min(end, start + width)))
        start += width
    return found


def order_filter(order_id: str) -> str:
    """The filter expression naming an order's spans. The order id is checked against the
    ``OrderId`` contract first, so it holds no quote to break out of the string."""
    if not re.match(ORDER_ID_PATTERN, order_id):
        raise ValueError(f"{order_id!r} is not an order id ({ORDER_ID_PATTERN})")
    return f'annotation.{ORDER_ANNOTATION} = "{order_id}"'


def summaries_queries(order_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The GetTraceSummaries requests finding an order's traces between start and end."""
    expression = order_filter(order_id)
    return [
        {"StartTime": lo, "EndTime": hi, "FilterExpression": expression, "TimeRangeType": "TraceId"}
        for lo, hi in slices(start, end)
    ]


@dataclass
class Lookup:
    traces: list[Trace]
    filtered_by_xray: bool
    """False: this X-Ray could not filter; every trace of the window was read."""
    scanned: int
    """Traces read (with the filter: the order's; without: every trace of the window)."""


def _summaries(xray: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for page in xray.get_paginator("get_trace_summaries").paginate(**query):
        yield from page.get("TraceSummaries", [])


def fetch_traces(xray: Any, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Trace id -> its segment documents (BatchGetTraces, 5 ids a call, every page)."""
    documents: dict[str, list[dict[str, Any]]] = {}
    for first in range(0, len(trace_ids), BATCH):
        kwargs: dict[str, Any] = {"TraceIds": trace_ids[first : first + BATCH]}
        while True:
            page = xray.batch_get_traces(**kwargs)
            for trace_id, docs in documents_of(page.get("Traces", [])).items():
                documents.setdefault(trace_id, []).extend(docs)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return documents


def find_order_traces(xray: Any, order_id: str, start: datetime, end: datetime) -> Lookup:
    """The traces of an order whose trace started between start and end, oldest first."""
    found: dict[str, None] = {}  # trace ids, once each, in the order found
    try:
        for query in summaries_queries(order_id, start, end):
            found.update(dict.fromkeys(s["Id"] for s in _summaries(xray, query)))
    except ClientError as error:
        if error.response["Error"]["Code"] not in FILTER_UNSUPPORTED:
            raise
        return _scan_window(xray, order_id, start, end)
    traces = [build_trace(tid, docs) for tid, docs in fetch_traces(xray, [*found]).items()]
    return Lookup(sorted(traces, key=lambda t: t.start), filtered_by_xray=True, scanned=len(traces))


def _scan_window(xray: Any, order_id: str, start: datetime, end: datetime) -> Lookup:
    """Without a filter expression: every trace of the window, kept when one of its spans is
    annotated with the order id."""
    found: dict[str, None] = {}
    for lo, hi in slices(start, end):
        query = {"StartTime": lo, "EndTime": hi, "TimeRangeType": "TraceId"}
        found.update(dict.fromkeys(s["Id"] for s in _summaries(xray, query)))
    traces = [build_trace(tid, docs) for tid, docs in fetch_traces(xray, [*found]).items()]
    mine = [t for t in traces if order_id in t.annotation_values(ORDER_ANNOTATION)]
    return Lookup(sorted(mine, key=lambda t: t.start), filtered_by_xray=False, scanned=len(traces))


# --- the terminal waterfall ------------------------------------------------------------------

STYLE = {"fault": "bold red", "error": "yellow", "throttle": "magenta"}
BAR_WIDTH = 32


TERMINAL_CAUSE_CHARS = 72
"""A cause longer than this is cut in the waterfall (``--json`` and ``--html`` keep it whole):
botocore's messages repeat the error type and run to several folded lines per span."""


def terminal_cause(cause: str) -> str:
    """``Type: message`` as the waterfall shows it: whole if short, else cut with an ellipsis."""
    if len(cause) <= TERMINAL_CAUSE_CHARS:
        return cause
    return cause[: TERMINAL_CAUSE_CHARS - 1].rstrip() + "…"


def _ms(seconds: float | None) -> str:
    return "…" if seconds is None else f"{seconds * 1000:,.1f}"


BAR_COLOUR = {"fault": "red", "error": "yellow", "throttle": "magenta"}


def _bar_colour(span: Span) -> str:
    for name in ("fault", "error", "throttle"):
        if getattr(span, name):
            return BAR_COLOUR[name]
    return "cyan" if span.is_remote else "green" if span.kind == "segment" else "blue"


def waterfall(trace: Trace, out: Console, names: DisplayNames = NO_NAMES) -> None:
    """Header, then one row per span in tree order: the span (indented under its parent),
    its service and operation, start offset and duration in ms, a bar on the trace's time
    scale, and its marks (fault, error, throttle, SDK retries, repeats) with the cause."""
    head = trace.summary()
    out.print(
        f"[bold]trace {trace.trace_id}[/]  {head['start']}  "
        f"[bold]{_ms(trace.duration)} ms[/]  {head['spans']} spans  "
        f"{head['services']} services  "
        + (f"[bold red]{head['errors']} failed[/]  " if head["errors"] else "no errors  ")
        + (f"[yellow]{head['retried']} retried[/]" if head["retried"] else "no retries"),
        highlight=False,
    )
    # the numbers and the bar keep their width; names give way (ellipsis) on a narrow terminal
    bar_width = max(12, min(BAR_WIDTH, out.width // 6))
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for name, least, most in (("span", 28, 48), ("service", 10, 32), ("operation", 10, 20)):
        table.add_column(name, overflow="ellipsis", min_width=least, max_width=most)
    table.add_column("start ms", justify="right", no_wrap=True, min_width=9)
    table.add_column("dur ms", justify="right", no_wrap=True, min_width=9)
    table.add_column("timeline", no_wrap=True, width=bar_width, min_width=bar_width)
    table.add_column("marks", overflow="fold", min_width=12)
    total = trace.duration or 1e-9
    labels = trace.labels(names)
    for span in trace.spans:
        offset = span.start - trace.start
        end = (span.end if span.end is not None else trace.end) - trace.start
        label = Text(
            " " * span.depth + ("└ " if span.depth else "") + labels[span.name],
            no_wrap=True,
            overflow="ellipsis",
        )
        if span.parent_missing:
            label.append(" ⤴", style="dim")
        marks = Text()
        for mark in span.marks():
            name = mark.split(" ")[0]
            marks.append(f"[{mark}] ", style=STYLE.get(name, "yellow"))
        if span.cause:
            marks.append(terminal_cause(span.cause), style="dim")
        if span.parent_missing:
            marks.append(f" parent {span.parent_id} not in the trace", style="dim")
        table.add_row(
            label,
            Text(labels[span.service], no_wrap=True, overflow="ellipsis"),
            Text(labels.get(span.operation, span.operation), no_wrap=True, overflow="ellipsis"),
            _ms(offset),
            _ms(span.duration()),
            Bar(
                total,
                offset,
                max(end, offset + total / (bar_width * 2)),
                width=bar_width,
                color=_bar_colour(span),
            ),
            marks,
        )
    out.print(table)


# --- the command -----------------------------------------------------------------------------


def _not_found(order_id: str, start: datetime, end: datetime, lookup: Lookup) -> str:
    how = (
        "the filter expression found no trace"
        if lookup.filtered_by_xray
        else f"none of the {lookup.scanned} trace(s) of the window has a span annotated with it"
    )
    return (
        f"no trace of order {order_id!r} between {start.isoformat(timespec='seconds')} and "
        f"{end.isoformat(timespec='seconds')} ({how}). Either it was not sampled (AWS's "
        "default rule traces the first request each second and 5% of the rest; the dev stage "
        "traces everything), or its segments have not arrived yet (they reach X-Ray a few "
        "seconds after the work: try again), or it started before the window (widen --since; "
        "X-Ray keeps traces 30 days)."
    )


def _lookup(xray: Any, wanted: str, start: datetime, end: datetime) -> Lookup:
    """An order's traces, or the one trace named by its id."""
    try:
        if TRACE_ID.match(wanted):
            documents = fetch_traces(xray, [wanted])
            if not documents:
                fail(
                    f"X-Ray has no trace {wanted} (not sampled, not yet arrived, or older "
                    "than 30 days)",
                    code=1,
                )
            traces = [build_trace(tid, docs) for tid, docs in documents.items()]
            return Lookup(traces, filtered_by_xray=True, scanned=len(traces))
        try:
            order_filter(wanted)
        except ValueError as error:
            fail(str(error))
        return find_order_traces(xray, wanted, start, end)
    except ClientError as error:
        fail(f"X-Ray at {xray.meta.endpoint_url} refused: {error}", code=1)


def trace_command(
    ctx: typer.Context,
    order_id: Annotated[
        str, typer.Argument(help="The order's id (or an X-Ray trace id, 1-xxxxxxxx-…).")
    ],
    *,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Look for traces that started since then: a duration (30s, 90m, 6h, 2d) or "
            "an ISO 8601 time.",
        ),
    ] = "6h",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the spans as a JSON list instead.")
    ] = False,
    otlp: Annotated[
        Path | None, typer.Option("--otlp", help="Write the trace as OTLP/JSON to FILE.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained page (waterfall, service map)."),
    ] = None,
) -> None:
    """An order's trace: every span from POST /orders to the notifications, as a waterfall.

    Exit code 1 if X-Ray has no trace of the order in the window; 2 on bad input.
    """
    end = datetime.now(UTC)
    start = parse_since(since, end)
    if end - start > RETENTION:
        fail(f"--since {since} goes back more than X-Ray's 30 days of traces")
    stack = stack_of(ctx)
    lookup = _lookup(stack.client("xray"), order_id, start, end)
    if not lookup.filtered_by_xray:
        Console(stderr=True).print(
            f"[dim]note: this X-Ray cannot filter by annotation; read all {lookup.scanned} "
            "trace(s) of the window to find the order's[/]",
            highlight=False,
        )
    if not lookup.traces:
        fail(_not_found(order_id, start, end, lookup), code=1)
    names = display_names(stack)
    if otlp is not None:
        otlp.write_text(json.dumps(trace_export.to_otlp(lookup.traces), indent=1))
    if html is not None:
        html.write_text(trace_export.to_html(lookup.traces, title=f"order {order_id}", names=names))
    if as_json:
        spans = [span for trace in lookup.traces for span in trace.to_json(names)]
        console().print_json(json.dumps(spans))
    else:
        out = console()
        for trace in lookup.traces:
            waterfall(trace, out, names)
    notes = Console(stderr=True)
    for path, what in ((otlp, "OTLP/JSON"), (html, "HTML page")):
        if path is not None:
            notes.print(f"wrote {what} to {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("trace")(trace_command)
