"""An order's trace through the hops AWS does not carry it across: the outbox and the batches.

AWS carries the X-Ray trace header (``Root=1-...;Parent=...;Sampled=1``) from API Gateway to
Lambda, from ``PutEvents`` entries (``TraceHeader``) to rule targets, from Step Functions to its
tasks and through SNS and SQS (``AWSTraceHeader``). Two hops it cannot see:

- **The outbox.** The relay is triggered by the orders table's stream, a new trace. So the
  outbox item keeps the header of the request that wrote it (``current_trace_header()``, stored
  by orders' dal), and the relay opens a span in *that* trace (``span_in``) and publishes from
  inside it: the entries' ``TraceHeader`` names the span as their parent.
- **A batch.** One Lambda invocation consumes records of several orders, each with its own
  header (SQS ``attributes.AWSTraceHeader``). ``shared_kernel.handlers.batch_consumer`` opens
  one span per record in the record's trace.

A span is an X-Ray *segment* of the record's trace (its name: the function's), sent by the
X-Ray SDK's emitter to the daemon on ``AWS_XRAY_DAEMON_ADDRESS`` (on AWS the Lambda X-Ray
daemon forwards any document sent to it). While it is open it is the SDK's current entity, so
the AWS calls made inside (patched botocore: DynamoDB, ``PutEvents``, SNS) are its subsegments,
``tracer.put_annotation`` annotates it, and ``current_trace_header()`` names it. Only a sampled
header (``Sampled=1``) gets a span; an unsampled one is passed on as it came (``Sampled=0``),
so the decision travels as on AWS.
"""

import os
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context

from shared_kernel.observability import logger, tracer

_ROOT = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_PARENT = re.compile(r"^[0-9a-f]{16}$")
Sampled = Literal["0", "1", "?"]


class MalformedTraceHeader(ValueError):
    """A trace header that is not ``Root=1-<8 hex>-<24 hex>[;Parent=<16 hex>][;Sampled=0|1|?]``."""


@dataclass(frozen=True)
class TraceHeader:
    """An X-Ray trace header (``X-Amzn-Trace-Id``, ``AWSTraceHeader``, ``TraceHeader``)."""

    root: str
    """The trace id, ``1-<epoch seconds, 8 hex>-<24 hex>``."""
    parent: str | None = None
    """The id of the segment or subsegment the next hop hangs under (16 hex)."""
    sampled: Sampled | None = None
    """The sampling decision: ``1`` traced, ``0`` not, ``?`` or None: the next hop decides."""
    extra: tuple[tuple[str, str], ...] = ()
    """Other fields (``Lineage``, ...), passed on unchanged and in order."""

    @classmethod
    def parse(cls, header: str) -> "TraceHeader":
        """Parse ``Root=...;Parent=...;Sampled=...``; MalformedTraceHeader says what is wrong."""
        fields: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        for part in header.strip().split(";"):
            key, equals, value = part.strip().partition("=")
            if not equals or not key or not value:
                raise MalformedTraceHeader(f"{part!r} is not key=value")
            if key in ("Root", "Parent", "Sampled"):
                if key in fields:
                    raise MalformedTraceHeader(f"{key} appears twice")
                fields[key] = value
            elif key != "Self":  # Self= is what a load balancer adds for itself
                extra.append((key, value))
        root, parent, sampled = fields.get("Root"), fields.get("Parent"), fields.get("Sampled")
        if root is None or not _ROOT.match(root):
            raise MalformedTraceHeader(f"Root {root!r} is not 1-<8 hex>-<24 hex>")
        if parent is not None and not _PARENT.match(parent):
            raise MalformedTraceHeader(f"Parent {parent!r} is not 16 hex digits")
        if sampled is None:
            return cls(root, parent, None, tuple(extra))
        if sampled not in ("0", "1", "?"):
            raise MalformedTraceHeader(f"Sampled {sampled!r} is not 0, 1 or ?")
        return cls(root, parent, cast(Sampled, sampled), tuple(extra))

    @classmethod
    def parse_or_none(cls, header: str | None) -> "TraceHeader | None":
        """A header from outside (a record, an item): a malformed one is logged and dropped,
        never a failure of the record (the trace is lost, the work is not)."""
        if not header:
            return None
        try:
            return cls.parse(header)
        except MalformedTraceHeader as exc:
            problem = {"header": header[:256], "problem": str(exc)}
            logger.warning("trace header ignored", extra=problem)
            return None

    def __str__(self) -> str:
        parts = [f"Root={self.root}"]
        if self.parent is not None:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={self.sampled}")
        parts.extend(f"{key}={value}" for key, value in self.extra)
        return ";".join(parts)

    @property
    def is_sampled(self) -> bool:
        return self.sampled == "1"


_passed_on: ContextVar["TraceHeader | None"] = ContextVar("passed_on", default=None)
"""Inside ``span_in`` with a header that gets no span (unsampled, or tracing off here): the
header to pass on, as it came."""


def current_trace_header() -> str | None:
    """The header to give what this code calls or publishes: the current X-Ray entity
    (segment or subsegment) as the parent, with its trace and ``Sampled=1``; inside a span that
    was not sampled, the record's header as it came (``Sampled=0``); for an unsampled
    invocation, the header Lambda received. None when there is no trace to continue."""
    passed_on = _passed_on.get()
    if passed_on is not None:
        return str(passed_on)
    if not global_sdk_config.sdk_enabled():
        return None
    entity = xray_recorder.get_trace_entity()
    if entity is None:
        return None
    if entity.sampled:
        return str(TraceHeader(entity.trace_id, entity.id, "1"))
    # Not sampled: the SDK's entities are dummies with made-up ids; Lambda's facade segment
    # keeps the header the invocation received, passed on with its decision.
    segment = getattr(entity, "parent_segment", entity)
    origin = getattr(segment, "get_origin_trace_header", lambda: None)()
    if origin is None or not origin.root:
        return None
    return str(TraceHeader(origin.root, origin.parent, "0"))


@dataclass(frozen=True)
class Span:
    """What ``span_in`` opened."""

    header: TraceHeader | None
    """The header to pass on from inside the block (the span as the parent when sampled)."""
    segment: Any | None = None
    """The X-Ray segment; None when not sampled, without a header, or with tracing off."""


@contextmanager
def span_in(header: str | TraceHeader | None, name: str | None = None) -> Iterator[Span]:
    """Run the block as a span of the trace ``header`` names (see the module doc).

    With a sampled header, an X-Ray segment in that trace (parent: the header's), named
    ``name`` (default: the function's name), is the SDK's current entity inside the block, and
    is sent to the daemon when the block ends, with the exception if the block raised. With an
    unsampled header (or tracing off here) nothing is opened and ``current_trace_header()``
    passes the header on as it came; without a header the block runs as it would without this.
    """
    parsed = header if isinstance(header, TraceHeader) else TraceHeader.parse_or_none(header)
    if parsed is None or not parsed.is_sampled or not global_sdk_config.sdk_enabled():
        token = _passed_on.set(parsed)  # passed on as it came (None: no header to pass on)
        try:
            yield Span(header=parsed)
        finally:
            _passed_on.reset(token)
        return
    outer = xray_recorder.context
    # A context of the span's own: Lambda's (the invocation's trace, from _X_AMZN_TRACE_ID)
    # refuses segments. The invocation's entities stay in it and are current again when the
    # span ends. A handler consumes its records one at a time, on one thread.
    xray_recorder.context = Context(context_missing="LOG_ERROR")
    token = _passed_on.set(None)
    try:
        segment = xray_recorder.begin_segment(
            name=name or function_name(), traceid=parsed.root, parent_id=parsed.parent, sampling=1
        )
        try:
            yield Span(header=replace(parsed, parent=segment.id), segment=segment)
        except Exception as exc:
            segment.add_exception(exc, traceback.extract_tb(exc.__traceback__))
            raise
        finally:
            xray_recorder.end_segment()
    finally:
        _passed_on.reset(token)
        xray_recorder.context = outer


def function_name() -> str:
    """A span's default name: the function's (as AWS names the function's own segment)."""
    return os.getenv("AWS_LAMBDA_FUNCTION_NAME") or tracer.service or "orderflow"
