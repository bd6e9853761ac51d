"""X-Ray segment documents as one tree of spans: what ``orderflow trace`` shows and exports.

A trace reaches X-Ray as many documents with one trace id: the segments AWS's services add
(API Gateway's stage, Lambda's service and function segments, Step Functions' state machine),
the subsegments the X-Ray SDK under Powertools Tracer sends on their own (``type:
subsegment``, parented to the function segment), and the segments the app sends per record
(the outbox relay, a batch consumer), parented to the subsegment that sent the record. Each
segment nests its own subsegments. Every one of them, nested or not, is a span here, linked to
its parent by ``parent_id``, so the documents of one trace merge into one tree however they
were split.

Pure functions: no AWS call (``orderflow_cli.trace`` fetches the documents).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orderflow_cli.names import NO_NAMES, DisplayNames

ORDER_ANNOTATION = "order_id"
"""The annotation every span of the app carries (``shared_kernel.observability``)."""
REMOTE_NAMESPACES = frozenset({"aws", "remote"})
"""A subsegment of these namespaces is a call to another service (a node of its own on a
service map: ``DynamoDB``, ``EventBridge``, an HTTP API); any other is work inside its
segment's service."""


@dataclass
class Span:
    """One segment or subsegment."""

    trace_id: str
    id: str
    parent_id: str | None
    name: str
    start: float
    """Epoch seconds, as X-Ray has them."""
    end: float | None
    """None while the span is in progress (its end has not arrived)."""
    kind: str
    """``segment`` or ``subsegment``."""
    origin: str | None = None
    namespace: str | None = None
    error: bool = False
    fault: bool = False
    throttle: bool = False
    cause: str | None = None
    http: dict[str, Any] = field(default_factory=dict)
    aws: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)
    # derived once the whole trace is known (``build_trace``)
    service: str = ""
    depth: int = 0
    attempt: int = 1
    attempts: int = 1
    parent_missing: bool = False

    @property
    def operation(self) -> str:
        """What the span did: the AWS operation of a call (``PutItem``), else the HTTP
        request of a segment that served one, else its name (``## lambda_handler``)."""
        if operation := self.aws.get("operation"):
            return str(operation)
        request = self.http.get("request") or {}
        if self.kind == "segment" and request.get("method"):
            return f"{request['method']} {_path(str(request.get('url', '')))}".strip()
        if self.kind == "segment" and self.origin:
            return self.origin.rsplit("::", 1)[-1]
        return self.name

    @property
    def retries(self) -> int:
        """Retries the SDK made inside this call (``aws.retries``)."""
        try:
            return max(0, int(self.aws.get("retries", 0)))
        except (TypeError, ValueError):
            return 0

    @property
    def retried(self) -> bool:
        """The SDK retried inside the call, or this span repeats a sibling (a Step Functions
        retry of a task, a redelivered message): attempt 2 or later."""
        return self.retries > 0 or self.attempt > 1

    @property
    def failed(self) -> bool:
        return self.error or self.fault or self.throttle

    @property
    def is_remote(self) -> bool:
        return self.kind == "subsegment" and self.namespace in REMOTE_NAMESPACES

    @property
    def status(self) -> int | None:
        status = (self.http.get("response") or {}).get("status")
        return status if isinstance(status, int) else None

    def duration(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - self.start)

    def marks(self) -> list[str]:
        """``fault``, ``error``, ``throttle``, ``N SDK retries``, ``repeat k/N``."""
        found = [name for name in ("fault", "error", "throttle") if getattr(self, name)]
        if self.retries:
            found.append(f"{self.retries} SDK retr{'y' if self.retries == 1 else 'ies'}")
        if self.attempts > 1:
            found.append(f"repeat {self.attempt}/{self.attempts}")
        return found

    def to_json(self, trace_start: float, labels: dict[str, str] | None = None) -> dict[str, Any]:
        """The span as X-Ray has it (``name``, ``service``), plus the names people read
        (``displayName``, ``displayService``: ``orders/place-order``) from ``labels``."""
        labels = labels or {}
        return {
            "traceId": self.trace_id,
            "id": self.id,
            "parentId": self.parent_id,
            "name": self.name,
            "service": self.service,
            "displayName": labels.get(self.name, self.name),
            "displayService": labels.get(self.service, self.service),
            "operation": self.operation,
            "origin": self.origin,
            "namespace": self.namespace,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "offsetMs": round((self.start - trace_start) * 1000, 3),
            "durationMs": None if self.end is None else round((self.duration() or 0.0) * 1000, 3),
            "error": self.error,
            "fault": self.fault,
            "throttle": self.throttle,
            "cause": self.cause,
            "httpStatus": self.status,
            "retries": self.retries,
            "attempt": self.attempt,
            "attempts": self.attempts,
            "depth": self.depth,
            "parentMissing": self.parent_missing,
            "annotations": self.annotations,
        }


def _path(url: str) -> str:
    """``https://host/prod/orders`` -> ``/prod/orders``."""
    if "://" in url:
        url = url.split("://", 1)[1]
        return "/" + url.split("/", 1)[1] if "/" in url else "/"
    return url


def cause_summary(cause: Any) -> str | None:
    """The first exception of an X-Ray ``cause`` (``Type: message``); a cause that is a bare
    exception id points at another span's exception, and says only that."""
    if isinstance(cause, str):
        return f"see exception {cause}"
    if not isinstance(cause, dict):
        return None
    for exception in cause.get("exceptions") or []:
        if isinstance(exception, dict):
            kind, message = exception.get("type"), exception.get("message")
            text = ": ".join(str(part) for part in (kind, message) if part)
            if text:
                return text
    message = cause.get("message")
    return str(message) if message else None


def _spans_of(document: dict[str, Any], trace_id: str) -> Iterable[Span]:
    """The span of a document and of every subsegment nested in it, depth first."""
    kind = "subsegment" if document.get("type") == "subsegment" else "segment"
    stack: list[tuple[dict[str, Any], str | None, str]] = [
        (document, document.get("parent_id"), kind)
    ]
    while stack:
        doc, parent_id, doc_kind = stack.pop()
        if not isinstance(doc, dict) or "id" not in doc or "start_time" not in doc:
            continue
        end = doc.get("end_time")
        yield Span(
            trace_id=str(doc.get("trace_id") or trace_id),
            id=str(doc["id"]),
            parent_id=str(parent_id) if parent_id else None,
            name=str(doc.get("name", "?")),
            start=float(doc["start_time"]),
            end=None if end is None or doc.get("in_progress") is True else float(end),
            kind=doc_kind,
            origin=doc.get("origin"),
            namespace=doc.get("namespace"),
            error=doc.get("error") is True,
            fault=doc.get("fault") is True,
            throttle=doc.get("throttle") is True,
            cause=cause_summary(doc.get("cause")),
            http=_object(doc, "http"),
            aws=_object(doc, "aws"),
            annotations=_object(doc, "annotations"),
        )
        for child in reversed(doc.get("subsegments") or []):
            stack.append((child, str(doc["id"]), "subsegment"))


def _object(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


@dataclass
class Trace:
    """One trace's spans in tree order (each parent before its children, siblings by start)."""

    trace_id: str
    spans: list[Span]

    @property
    def start(self) -> float:
        return min(span.start for span in self.spans)

    @property
    def end(self) -> float:
        return max(span.end if span.end is not None else span.start for span in self.spans)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def labels(self, names: DisplayNames = NO_NAMES) -> dict[str, str]:
        """Span and service name -> the label people read (``orderflow_cli.names``)."""
        return names.labels([*(s.name for s in self.spans), *(s.service for s in self.spans)])

    def annotation_values(self, key: str) -> set[str]:
        return {str(s.annotations[key]) for s in self.spans if key in s.annotations}

    def summary(self) -> dict[str, Any]:
        return {
            "traceId": self.trace_id,
            "start": datetime.fromtimestamp(self.start, UTC).isoformat(timespec="milliseconds"),
            "durationMs": round(self.duration * 1000, 3),
            "spans": len(self.spans),
            "services": len({span.service for span in self.spans}),
            "errors": sum(span.failed for span in self.spans),
            "retried": sum(span.retried for span in self.spans),
            "orderIds": sorted(self.annotation_values(ORDER_ANNOTATION)),
        }

    def to_json(self, names: DisplayNames = NO_NAMES) -> list[dict[str, Any]]:
        start, labels = self.start, self.labels(names)
        return [span.to_json(start, labels) for span in self.spans]


def build_trace(trace_id: str, documents: Iterable[dict[str, Any]]) -> Trace:
    """Merge a trace's documents into one tree of spans.

    The same span may arrive twice (in progress, then complete; or stored twice): the
    complete one, else the longer, wins. A span whose parent is not among them (not sampled
    by the caller, or not yet arrived) is a root marked ``parent_missing``.
    """
    by_id: dict[str, Span] = {}
    for document in documents:
        for span in _spans_of(document, trace_id):
            known = by_id.get(span.id)
            if known is None or _better(span, known):
                by_id[span.id] = span
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in by_id.values():
        if span.parent_id is not None and span.parent_id not in by_id:
            span.parent_missing = True
        children[span.parent_id if span.parent_id in by_id else None].append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: (s.start, s.end if s.end is not None else s.start, s.id))
        _number_attempts(siblings)
    ordered: list[Span] = []
    stack = [(root, 0) for root in reversed(children[None])]
    while stack:
        span, depth = stack.pop()
        span.depth = depth
        ordered.append(span)
        stack.extend((child, depth + 1) for child in reversed(children.get(span.id, [])))
    for span in ordered:
        span.service = _service(span, by_id)
    return Trace(trace_id=trace_id, spans=ordered)


def _better(new: Span, old: Span) -> bool:
    if (new.end is None) != (old.end is None):
        return new.end is not None
    return (new.end or new.start) > (old.end or old.start)


RESOURCE_KEYS = ("table_name", "queue_url", "function_name", "state_machine_arn", "topic_arn")
"""The ``aws`` fields naming what a call acted on: two calls on different resources are two
calls, not two attempts of one."""


def _number_attempts(siblings: list[Span]) -> None:
    """Siblings doing the same thing (same name, operation and resource) are attempts of one
    call: a Step Functions task retried, a message delivered again, a retried request. X-Ray
    does not say so; two identical calls on purpose are counted as repeats too."""
    groups: dict[tuple[str, ...], list[Span]] = defaultdict(list)
    for span in siblings:
        resource = tuple(str(span.aws.get(key, "")) for key in RESOURCE_KEYS)
        groups[(span.kind, span.name, span.operation, *resource)].append(span)
    for group in groups.values():
        for number, span in enumerate(group, start=1):
            span.attempt, span.attempts = number, len(group)


def _service(span: Span, by_id: dict[str, Span]) -> str:
    """The node of the service map a span belongs to: a segment's own name; a call to
    another service (``aws``/``remote`` namespace): that service; other subsegments: the
    segment they are part of."""
    current: Span | None = span
    seen: set[str] = set()
    while current is not None and current.id not in seen:
        if current.kind == "segment" or current.is_remote:
            return current.name
        seen.add(current.id)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return span.name


def documents_of(traces: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """BatchGetTraces' ``Traces`` -> trace id -> its parsed segment documents (a document that
    is not JSON is skipped: X-Ray stores only what parsed)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for trace in traces:
        for segment in trace.get("Segments") or []:
            try:
                document = json.loads(segment["Document"])
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(document, dict):
                found[str(trace["Id"])].append(document)
    return dict(found)
