"""Segment documents, as the X-Ray daemon and ``PutTraceSegments`` receive them, kept per
trace in memory, and read back as the X-Ray API answers.

The daemon's wire format (UDP, one document per datagram)::

    {"format": "json", "version": 1}\n{"trace_id": "1-...", "id": "...", "name": ...}

A document is a segment (``name``, ``id``, ``trace_id``, ``start_time``, ``end_time`` or
``in_progress``; optional nested ``subsegments``) or a subsegment sent alone (``"type":
"subsegment"`` with its ``parent_id`` and ``trace_id``), as the X-Ray SDK streams them in
Lambda. Every entity (segment or subsegment, nested or not) is stored flat by its id with its
parent's id, so that documents may arrive in any order and an ``in_progress`` entity is
replaced by its finished self; ``BatchGetTraces`` nests the subsegments under their segment
when read (``Trace.documents``).

Bounded: at most ``max_traces`` traces (default 2,000; ``ORDERFLOW_XRAY_MAX_TRACES``), the
oldest first seen evicted first, and at most ``MAX_ENTITIES`` entities per trace. Standard
library only.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from orderflow_hostexec.xray.header import SEGMENT_ID, TRACE_ID, trace_epoch

WIRE_HEADER = {"format": "json", "version": 1}
MAX_DOCUMENT_BYTES = 64 * 1024  # AWS: a segment document is at most 64 kB (the UDP limit)
MAX_ENTITIES = 5_000  # per trace; more are refused (AWS caps a trace's size too)
DEFAULT_MAX_TRACES = 2_000


class SegmentError(ValueError):
    """A document the daemon or PutTraceSegments cannot accept (why, in words)."""


def parse_datagram(data: bytes) -> dict[str, Any]:
    """The document of one daemon datagram: the JSON header line, then the document."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SegmentError(f"datagram of {len(data)} bytes is over {MAX_DOCUMENT_BYTES}")
    head, newline, body = data.partition(b"\n")
    if not newline:
        raise SegmentError('no header line: expected {"format": "json", "version": 1}\\n<doc>')
    try:
        header = json.loads(head)
    except ValueError as error:
        raise SegmentError(f"header line is not JSON ({error})") from None
    if header != WIRE_HEADER:
        raise SegmentError(f"header {header!r} is not {WIRE_HEADER!r}")
    return parse_document(body)


def parse_document(text: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise SegmentError(f"document is not JSON ({error})") from None
    validate(document)
    return document


def _number(document: dict[str, Any], key: str) -> float | None:
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SegmentError(f"{key} must be a number of epoch seconds, not {value!r}")
    return float(value)


def validate(document: Any, nested: bool = False) -> None:
    """Raise ``SegmentError`` unless ``document`` is a segment or subsegment document."""
    if not isinstance(document, dict):
        raise SegmentError("a segment document is a JSON object")
    entity_id = document.get("id")
    if not isinstance(entity_id, str) or not SEGMENT_ID.match(entity_id):
        raise SegmentError(f"id must be 16 hexadecimal digits, not {entity_id!r}")
    name = document.get("name")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise SegmentError(f"{entity_id}: name must be a string of 1 to 200 characters")
    alone = document.get("type") == "subsegment"
    if not nested:
        trace_id = document.get("trace_id")
        if not isinstance(trace_id, str) or not TRACE_ID.match(trace_id):
            raise SegmentError(f"{entity_id}: trace_id {trace_id!r} is not 1-<8 hex>-<24 hex>")
    parent = document.get("parent_id")
    if parent is not None and (not isinstance(parent, str) or not SEGMENT_ID.match(parent)):
        raise SegmentError(f"{entity_id}: parent_id must be 16 hexadecimal digits")
    if alone and not nested and parent is None:
        raise SegmentError(f"{entity_id}: a subsegment sent alone needs its parent_id")
    start = _number(document, "start_time")
    if start is None:
        raise SegmentError(f"{entity_id}: start_time is required")
    end = _number(document, "end_time")
    if end is None and document.get("in_progress") is not True:
        raise SegmentError(f"{entity_id}: end_time is required unless in_progress is true")
    if end is not None and end < start:
        raise SegmentError(f"{entity_id}: end_time is before start_time")
    children = document.get("subsegments", [])
    if not isinstance(children, list):
        raise SegmentError(f"{entity_id}: subsegments must be a list")
    for child in children:
        validate(child, nested=True)


@dataclass
class Entity:
    document: dict[str, Any]  # without its nested "subsegments"
    parent: str | None  # the entity it hangs under (a segment's parent_id is another trace node)
    segment: bool  # a top-level segment (not a subsegment)

    @property
    def start(self) -> float:
        return float(self.document["start_time"])

    @property
    def end(self) -> float:
        return float(self.document.get("end_time") or self.document["start_time"])


@dataclass
class Trace:
    id: str
    entities: dict[str, Entity] = field(default_factory=dict)

    def add(self, document: dict[str, Any]) -> None:
        segment = document.get("type") != "subsegment"
        self._add(document, document.get("parent_id"), segment)

    def _add(self, document: dict[str, Any], parent: str | None, segment: bool) -> None:
        if len(self.entities) >= MAX_ENTITIES and document["id"] not in self.entities:
            raise SegmentError(f"trace {self.id} holds {MAX_ENTITIES} entities already")
        flat = {key: value for key, value in document.items() if key != "subsegments"}
        self.entities[document["id"]] = Entity(flat, parent, segment)
        for child in document.get("subsegments", []):
            self._add(child, document["id"], False)

    # --- reading -----------------------------------------------------------------------------

    def segments(self) -> list[Entity]:
        return sorted((e for e in self.entities.values() if e.segment), key=lambda e: e.start)

    def _children(self) -> dict[str, list[Entity]]:
        children: dict[str, list[Entity]] = {}
        for entity in self.entities.values():
            if not entity.segment and entity.parent:
                children.setdefault(entity.parent, []).append(entity)
        return children

    def _nest(self, entity: Entity, children: dict[str, list[Entity]]) -> dict[str, Any]:
        document = dict(entity.document)
        if entity.segment:
            document["trace_id"] = self.id
        else:  # nested: its place says what these said when it was sent alone
            for key in ("trace_id", "parent_id", "type"):
                document.pop(key, None)
        kids = sorted(children.get(document["id"], []), key=lambda e: e.start)
        if kids:
            document["subsegments"] = [self._nest(kid, children) for kid in kids]
        return document

    def documents(self) -> list[dict[str, Any]]:
        """One document per segment, its subsegments nested, as ``BatchGetTraces`` returns
        them; then any subsegment tree whose parent never arrived (AWS would drop it)."""
        children = self._children()
        found = [self._nest(segment, children) for segment in self.segments()]
        for entity in self.entities.values():
            if not entity.segment and entity.parent not in self.entities:
                found.append(
                    self._nest(entity, children)
                    | {"trace_id": self.id, "parent_id": entity.parent, "type": "subsegment"}
                )
        return found

    def root(self) -> Entity | None:
        """The segment the trace started with: the earliest whose parent is not in it."""
        for segment in self.segments():
            if segment.parent is None or segment.parent not in self.entities:
                return segment
        return None

    @property
    def start(self) -> float:
        return min((e.start for e in self.entities.values()), default=0.0)

    @property
    def end(self) -> float:
        return max((e.end for e in self.entities.values()), default=0.0)


class TraceStore:
    def __init__(self, max_traces: int | None = None) -> None:
        self.max_traces = max_traces or int(
            os.environ.get("ORDERFLOW_XRAY_MAX_TRACES", DEFAULT_MAX_TRACES)
        )
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()
        self.received = 0
        self.rejected = 0
        self.evicted = 0
        self.last_error = ""

    def put(self, document: dict[str, Any]) -> None:
        """Store a validated document (``validate``); evicts the oldest trace when full."""
        trace_id = document["trace_id"]
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                trace = self._traces[trace_id] = Trace(trace_id)
                while len(self._traces) > self.max_traces:
                    self._traces.popitem(last=False)
                    self.evicted += 1
            trace.add(document)
            self.received += 1

    def reject(self, error: Exception) -> None:
        with self._lock:
            self.rejected += 1
            self.last_error = str(error)

    def receive(self, data: bytes) -> None:
        """One daemon datagram: stored, or counted as rejected."""
        try:
            self.put(parse_datagram(data))
        except SegmentError as error:
            self.reject(error)

    def get(self, trace_id: str) -> Trace | None:
        with self._lock:
            trace = self._traces.get(trace_id)
            return Trace(trace.id, dict(trace.entities)) if trace else None

    def traces(self) -> Iterator[Trace]:
        """A snapshot of every trace, oldest first."""
        with self._lock:
            snapshot = [Trace(t.id, dict(t.entities)) for t in self._traces.values()]
        yield from snapshot

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "traces": len(self._traces),
                "maxTraces": self.max_traces,
                "received": self.received,
                "rejected": self.rejected,
                "evicted": self.evicted,
                "lastError": self.last_error,
            }

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()


def trace_start(trace: Trace) -> float:
    """The trace's start for ``TimeRangeType`` ``TraceId``: the time in its id."""
    epoch = trace_epoch(trace.id)
    return float(epoch) if epoch is not None else trace.start
