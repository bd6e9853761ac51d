"""A trace written for other tools: OTLP/JSON for any OpenTelemetry backend, and one
self-contained HTML page (waterfall and service map) for a person.

OTLP/JSON follows the OTLP specification's JSON encoding (an ``ExportTraceServiceRequest``):
``resourceSpans`` per service (resource attribute ``service.name``), one ``scopeSpans``, the
spans with ids as hex (an X-Ray trace id ``1-5759e988-bd862e3fe1be46a994272793`` is the 32 hex
digits ``5759e988bd862e3fe1be46a994272793``: its epoch then its random part, as AWS's own
OpenTelemetry exporters map it), 64-bit nanosecond times as decimal strings, the span kind and
status code as integers, annotations as attributes, exceptions as ``exception`` events.

The page embeds everything it needs (inline CSS, inline SVG, a few lines of inline script for
the hover details); it loads nothing.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orderflow_cli.names import NO_NAMES, DisplayNames
from orderflow_cli.spans import Span, Trace

SCOPE = {"name": "orderflow-cli.xray", "version": "1"}
SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT = 1, 2, 3
STATUS_UNSET, STATUS_ERROR = 0, 2


def otlp_trace_id(xray_id: str) -> str:
    """``1-5759e988-bd862e3fe1be46a994272793`` -> ``5759e988bd862e3fe1be46a994272793``."""
    version, epoch, unique = xray_id.split("-")
    hex_id = (epoch + unique).lower()
    if version != "1" or len(hex_id) != 32 or any(c not in "0123456789abcdef" for c in hex_id):
        raise ValueError(f"{xray_id!r} is not an X-Ray trace id")
    return hex_id


def _nanos(epoch_seconds: float) -> str:
    """Exact to the microsecond X-Ray records (a float times 1e9 is not)."""
    return str(int(Decimal(repr(epoch_seconds)) * 1_000_000_000))


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(span: Span) -> list[dict[str, Any]]:
    found: dict[str, Any] = {"aws.xray.name": span.name}
    if span.origin:
        found["aws.xray.origin"] = span.origin
    if span.namespace:
        found["aws.xray.namespace"] = span.namespace
    if span.aws.get("operation"):
        found["rpc.system"] = "aws-api"
        found["rpc.service"] = span.name
        found["rpc.method"] = str(span.aws["operation"])
    for key in ("request_id", "table_name", "queue_url", "function_name"):
        if span.aws.get(key):
            found[f"aws.{key}"] = str(span.aws[key])
    if span.retries:
        found["aws.xray.retries"] = span.retries
    request = span.http.get("request") or {}
    if request.get("method"):
        found["http.request.method"] = str(request["method"])
    if request.get("url"):
        found["url.full"] = str(request["url"])
    if span.status is not None:
        found["http.response.status_code"] = span.status
    for name in ("error", "fault", "throttle"):
        if getattr(span, name):
            found[f"aws.xray.{name}"] = True
    for key, value in span.annotations.items():
        found[str(key)] = value if isinstance(value, bool | int | float) else str(value)
    return [{"key": key, "value": _value(value)} for key, value in found.items()]


def _kind(span: Span) -> int:
    if span.kind == "segment":
        return SPAN_KIND_SERVER
    return SPAN_KIND_CLIENT if span.is_remote else SPAN_KIND_INTERNAL


def otlp_span(span: Span) -> dict[str, Any]:
    end = span.end if span.end is not None else span.start
    out: dict[str, Any] = {
        "traceId": otlp_trace_id(span.trace_id),
        "spanId": span.id.lower(),
        "name": f"{span.name}.{span.aws['operation']}" if span.aws.get("operation") else span.name,
        "kind": _kind(span),
        "startTimeUnixNano": _nanos(span.start),
        "endTimeUnixNano": _nanos(end),
        "attributes": _attributes(span),
        "status": {"code": STATUS_ERROR, "message": span.cause or ", ".join(span.marks())}
        if span.error or span.fault or span.throttle
        else {"code": STATUS_UNSET},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id.lower()
    if span.cause:
        kind, _, message = span.cause.partition(": ")
        out["events"] = [
            {
                "timeUnixNano": _nanos(end),
                "name": "exception",
                "attributes": [
                    {"key": "exception.type", "value": _value(kind)},
                    {"key": "exception.message", "value": _value(message or kind)},
                ],
            }
        ]
    return out


def to_otlp(traces: list[Trace]) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` in OTLP/JSON: one resource per service."""
    by_service: dict[str, list[Span]] = defaultdict(list)
    for trace in traces:
        for span in trace.spans:
            by_service[span.service].append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": _value(service)},
                        {"key": "cloud.provider", "value": _value("aws")},
                    ]
                },
                "scopeSpans": [{"scope": SCOPE, "spans": [otlp_span(span) for span in spans]}],
            }
            for service, spans in sorted(by_service.items())
        ]
    }


# --- the service map -------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    kind: str
    spans: int = 0
    failed: int = 0
    level: int = 0
    row: int = 0


@dataclass
class Edge:
    source: str
    target: str
    calls: int = 0
    failed: int = 0


@dataclass
class ServiceMap:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)


def service_map(traces: list[Trace]) -> ServiceMap:
    """A node per service (a segment's name, or the service a call went to); an edge from a
    span's service to its child's when they differ, counting the calls and the failed ones.

    A Lambda ``Invoke`` call answered by the function's own segments is that edge itself, as
    on X-Ray's map: caller -> function, no ``Lambda`` hub between them. Other calls keep
    their node, so the asynchronous hops show what carried them: DynamoDB (its stream) ->
    the outbox relay, EventBridge -> the saga, SQS -> the worker."""
    found = ServiceMap()
    for trace in traces:
        by_id = {span.id: span for span in trace.spans}
        invokes = {
            span.parent_id
            for span in trace.spans
            if span.kind == "segment" and span.origin == "AWS::Lambda" and span.parent_id
        }
        absorbed = {
            span_id
            for span_id in invokes
            if span_id in by_id
            and by_id[span_id].is_remote
            and by_id[span_id].operation.startswith("Invoke")
        }
        for span in trace.spans:
            if span.id in absorbed:
                continue
            node = found.nodes.setdefault(span.service, Node(span.service, "local"))
            if span.kind == "segment" or span.is_remote:
                node.kind = span.origin or span.namespace or node.kind
            node.spans += 1
            node.failed += span.failed
            parent = by_id.get(span.parent_id) if span.parent_id else None
            failed = span.failed
            if parent is not None and parent.id in absorbed:
                failed = failed or parent.failed
                parent = by_id.get(parent.parent_id) if parent.parent_id else None
            if parent is not None and parent.service != span.service:
                edge = found.edges.setdefault(
                    (parent.service, span.service), Edge(parent.service, span.service)
                )
                edge.calls += 1
                edge.failed += failed
    _layout(found)
    return found


def _layout(found: ServiceMap) -> None:
    """Layers top-down by distance from the services nobody calls (breadth first), the AWS
    services that only answer at the bottom; in a layer, nodes in the mean order of their
    callers above (fewer crossings)."""
    incoming = {edge.target for edge in found.edges.values() if edge.source != edge.target}
    frontier = [name for name in found.nodes if name not in incoming] or list(found.nodes)[:1]
    levels = dict.fromkeys(frontier, 0)
    while frontier:
        following = []
        for name in frontier:
            for source, target in found.edges:
                if source == name and target not in levels:
                    levels[target] = levels[name] + 1
                    following.append(target)
        frontier = following
    # the services only called (DynamoDB, SSM...) go to a last layer of their own: their
    # callers' arrows then all point down instead of back up the map
    calling = {source for source, target in found.edges if source != target}
    sinks = {
        name
        for name, node in found.nodes.items()
        if name not in calling and name in incoming and node.kind in {"aws", "remote"}
    }
    bottom = max((levels.get(name, 0) for name in found.nodes if name not in sinks), default=0) + 1
    layers: dict[int, list[str]] = defaultdict(list)
    for name, node in found.nodes.items():
        node.level = bottom if name in sinks else levels.get(name, 0)
        layers[node.level].append(name)
    for level in sorted(layers):

        def weight(name: str, level: int = level) -> float:
            callers = [
                found.nodes[source].row
                for source, target in found.edges
                if target == name and found.nodes[source].level < level
            ]
            return sum(callers) / len(callers) if callers else 0.0

        for row, name in enumerate(sorted(layers[level], key=weight)):
            found.nodes[name].row = row


NODE_W, NODE_H, COL_W, ROW_H, PAD = 232, 44, 256, 86, 24
KINDS = {
    "AWS::ApiGateway::Stage": "API stage",
    "AWS::Lambda": "Lambda",
    "AWS::Lambda::Function": "function",
    "AWS::StepFunctions::StateMachine": "state machine",
    "aws": "AWS service",
    "remote": "remote service",
}
"""What a node is, in a few words (the full origin is in its tooltip)."""


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def map_svg(found: ServiceMap, names: DisplayNames = NO_NAMES) -> str:
    """The map as inline SVG: a layer per row, calls as arrows (down: to a later layer; a
    call back up, or within a layer, bends out to the right), labelled with their counts."""
    per_level: dict[int, int] = defaultdict(int)
    for node in found.nodes.values():
        per_level[node.level] += 1
    widest = max(per_level.values(), default=1)
    labels = names.labels(found.nodes)

    def box(node: Node) -> tuple[float, float]:
        indent = (widest - per_level[node.level]) * COL_W / 2
        return PAD + indent + node.row * COL_W, PAD + node.level * ROW_H

    levels = max(per_level, default=0) + 1
    width = PAD * 2 + (widest - 1) * COL_W + NODE_W + 200  # room for calls bending right
    height = PAD * 2 + (levels - 1) * ROW_H + NODE_H
    parts = [
        f'<svg id="service-map" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="service map">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#667"/></marker></defs>',
    ]
    for edge in found.edges.values():
        source, target = found.nodes[edge.source], found.nodes[edge.target]
        sx, sy = box(source)
        tx, ty = box(target)
        if target.level > source.level:
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty
            bend = max(24.0, (y2 - y1) / 2)
            path = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f}, {x2:.1f} {y2 - bend:.1f}, "
            path += f"{x2:.1f} {y2:.1f}"
            lx, ly = (x1 + x2) / 2 + 4, (y1 + y2) / 2
        else:
            x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx + NODE_W, ty + NODE_H / 2
            out = 40 + abs(y2 - y1) / 6
            path = f"M {x1:.1f} {y1:.1f} C {x1 + out:.1f} {y1:.1f}, {x2 + out:.1f} {y2:.1f}, "
            path += f"{x2:.1f} {y2:.1f}"
            lx, ly = max(x1, x2) + out * 0.75, (y1 + y2) / 2
        colour = "#c0392b" if edge.failed else "#667"
        label = f"{edge.calls}" + (f" ({edge.failed} failed)" if edge.failed else "")
        parts.append(
            f'<g class="edge" data-source="{html.escape(edge.source)}" '
            f'data-target="{html.escape(edge.target)}" data-calls="{edge.calls}" '
            f'data-failed="{edge.failed}"><title>{html.escape(edge.source)} → '
            f"{html.escape(edge.target)}: {edge.calls} call(s), {edge.failed} failed</title>"
            f'<path d="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="{1.2 + min(edge.calls, 6) * 0.3:.1f}" marker-end="url(#arrow)"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" class="edge-label" '
            f'fill="{colour}">{html.escape(label)}</text></g>'
        )
    for node in found.nodes.values():
        x, y = box(node)
        fill = "#fdecea" if node.failed else "#eef4fb"
        stroke = "#c0392b" if node.failed else "#4a78a8"
        stats = f"{node.spans} span{'s' if node.spans != 1 else ''}" + (
            f" · {node.failed} failed" if node.failed else ""
        )
        parts.append(
            f'<g class="node" data-service="{html.escape(node.name)}" '
            f'data-failed="{node.failed}"><title>{html.escape(node.name)} '
            f"({html.escape(node.kind)})</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}"/><text x="{x + 10:.1f}" y="{y + 18:.1f}" '
            f'class="node-name">{html.escape(_short(labels[node.name], 32))}</text>'
            f'<text x="{x + 10:.1f}" y="{y + 35:.1f}" class="node-stats">'
            f"{html.escape(KINDS.get(node.kind, node.kind))} · {stats}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


# --- the page --------------------------------------------------------------------------------

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
.meta { color: #555; margin-bottom: 8px; } .meta b { color: #222; }
#map-box { overflow-x: auto; border: 1px solid #ddd; border-radius: 6px; padding: 4px; }
.node-name { font: 600 12px system-ui, sans-serif; fill: #123; }
.node-stats, .edge-label { font: 11px system-ui, sans-serif; fill: #456; }
table.waterfall { border-collapse: collapse; width: 100%; table-layout: fixed; }
.waterfall th { text-align: left; font-weight: 600; border-bottom: 1px solid #ccc;
  padding: 3px 6px; }
.waterfall td { padding: 2px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  border-bottom: 1px solid #f0f0f0; font-size: 12.5px; }
.waterfall tr.span:hover { background: #fff8d6; cursor: default; }
.waterfall td.num { text-align: right; font-variant-numeric: tabular-nums; }
.timeline { position: relative; height: 14px; background: #f6f7f9; border-radius: 2px; }
.bar { position: absolute; top: 1px; height: 12px; min-width: 2px; border-radius: 2px;
  background: #3c8d5a; }
.bar.sub { background: #4a78a8; } .bar.remote { background: #27a0b5; }
.bar.error { background: #e0a100; } .bar.throttle { background: #a04ab5; }
.bar.fault { background: #c0392b; } .bar.open { opacity: .5; }
.mark { display: inline-block; padding: 0 5px; margin-right: 3px; border-radius: 8px;
  font-size: 11px; background: #eee; }
.mark.fault { background: #c0392b; color: #fff; } .mark.error { background: #e0a100; }
.mark.throttle { background: #a04ab5; color: #fff; } .mark.retry { background: #ffe08a; }
#details { position: fixed; right: 16px; bottom: 16px; width: 420px; max-height: 45vh;
  overflow: auto; background: #fff; border: 1px solid #bbb; border-radius: 6px;
  box-shadow: 0 2px 10px rgba(0,0,0,.15); padding: 8px 10px; font: 12px ui-monospace, monospace;
  white-space: pre-wrap; display: none; }
"""

SCRIPT = """
const spans = JSON.parse(document.getElementById('span-data').textContent);
const byId = Object.fromEntries(spans.map(s => [s.traceId + '/' + s.id, s]));
const box = document.getElementById('details');
for (const row of document.querySelectorAll('tr.span')) {
  row.addEventListener('mouseenter', () => {
    const span = byId[row.dataset.traceId + '/' + row.dataset.spanId];
    box.textContent = JSON.stringify(span, null, 2);
    box.style.display = 'block';
  });
}
document.querySelector('table.waterfall') &&
  document.body.addEventListener('mouseleave', () => { box.style.display = 'none'; });
document.body.dataset.spans = String(spans.length);
"""


def _bar_class(span: Span) -> str:
    for name in ("fault", "error", "throttle"):
        if getattr(span, name):
            return name
    return "seg" if span.kind == "segment" else "remote" if span.is_remote else "sub"


def _mark_class(mark: str) -> str:
    first = mark.split(" ", maxsplit=1)[0]
    return first if first in {"fault", "error", "throttle"} else "retry"


def _rows(trace: Trace, names: DisplayNames) -> str:
    total = trace.duration or 1e-9
    labels = trace.labels(names)
    rows = []
    for span in trace.spans:
        left = (span.start - trace.start) / total * 100
        end = span.end if span.end is not None else trace.end
        width = max(0.0, (end - span.start) / total * 100)
        marks = "".join(
            f'<span class="mark {_mark_class(mark)}">{html.escape(mark)}</span>'
            for mark in span.marks()
        )
        cause = f" {html.escape(span.cause)}" if span.cause else ""
        duration = span.duration()
        tip = (
            f"{span.name} · {span.service} · {span.operation} · +"
            f"{(span.start - trace.start) * 1000:.1f} ms · "
            + ("in progress" if duration is None else f"{duration * 1000:.1f} ms")
            + (f" · {span.cause}" if span.cause else "")
        )
        rows.append(
            f'<tr class="span" data-trace-id="{html.escape(span.trace_id)}" '
            f'data-span-id="{html.escape(span.id)}" data-service="{html.escape(span.service)}" '
            f'data-failed="{str(span.failed).lower()}" title="{html.escape(tip)}">'
            f'<td style="padding-left:{6 + span.depth * 14}px">{html.escape(labels[span.name])}'
            f"</td><td>{html.escape(labels[span.service])}</td>"
            f"<td>{html.escape(labels.get(span.operation, span.operation))}</td>"
            f'<td class="num">{(span.start - trace.start) * 1000:,.1f}</td>'
            f'<td class="num">{"…" if duration is None else f"{duration * 1000:,.1f}"}</td>'
            f'<td><div class="timeline"><div class="bar {_bar_class(span)}'
            f'{" open" if span.end is None else ""}" style="left:{left:.3f}%;'
            f'width:{width:.3f}%"></div></div></td><td>{marks}{cause}</td></tr>'
        )
    return "".join(rows)


def to_html(traces: list[Trace], *, title: str, names: DisplayNames = NO_NAMES) -> str:
    """One page: per trace a header and a waterfall; one service map for them all, spans and
    services under the names people read (``names``; the X-Ray names in the tooltips)."""
    spans = [span for trace in traces for span in trace.to_json(names)]
    data = json.dumps(spans).replace("</", "<\\/")
    sections = []
    for trace in traces:
        head = trace.summary()
        sections.append(
            f'<section class="trace" data-trace-id="{html.escape(trace.trace_id)}">'
            f'<h2>Trace {html.escape(trace.trace_id)}</h2><div class="meta">'
            f"started <b>{html.escape(head['start'])}</b> · <b>{head['durationMs']:,.1f} ms</b>"
            f" · {head['spans']} spans · {head['services']} services · "
            f"<b>{head['errors']}</b> failed · <b>{head['retried']}</b> retried</div>"
            '<table class="waterfall"><colgroup><col style="width:22%"><col style="width:17%">'
            '<col style="width:13%"><col style="width:6%"><col style="width:6%">'
            '<col style="width:22%"><col style="width:14%"></colgroup>'
            "<thead><tr><th>span</th><th>service</th><th>operation</th><th>start ms</th>"
            "<th>dur ms</th><th>timeline</th><th>marks</th></tr></thead>"
            f"<tbody>{_rows(trace, names)}</tbody></table></section>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>orderflow trace · {html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>orderflow trace · {html.escape(title)}</h1>"
        f'<div class="meta">{len(traces)} trace(s), {len(spans)}'
        " spans. Hover a span for its details.</div>"
        f'<h2>Service map</h2><div id="map-box">{map_svg(service_map(traces), names)}</div>'
        f'{"".join(sections)}<div id="details"></div>'
        f'<script type="application/json" id="span-data">{data}</script>'
        f"<script>{SCRIPT}</script></body></html>"
    )
