"""The X-Ray trace header (``X-Amzn-Trace-Id``, ``_X_AMZN_TRACE_ID``, SQS ``AWSTraceHeader``)
and the ids in it, as AWS shapes them:

    Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1

A trace id is ``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``; a segment id is 64 random
bits (16 hex). ``Sampled`` is the decision made where the trace started (``1``, ``0``, or ``?``
for "not decided yet"); downstream services keep it. Standard library only.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SEGMENT_ID = re.compile(r"^[0-9a-f]{16}$")


def new_trace_id(now: float | None = None) -> str:
    epoch = int(time.time() if now is None else now)
    return f"1-{epoch:08x}-{os.urandom(12).hex()}"


def new_segment_id() -> str:
    return os.urandom(8).hex()


def trace_epoch(trace_id: str) -> int | None:
    """The start time (epoch seconds) encoded in a trace id, or None if it is not one."""
    if not TRACE_ID.match(trace_id):
        return None
    return int(trace_id[2:10], 16)


@dataclass(frozen=True)
class TraceHeader:
    root: str | None = None
    parent: str | None = None
    sampled: str | None = None  # "1", "0", "?" or None (absent)
    extra: tuple[tuple[str, str], ...] = ()  # Lineage=..., Self=... kept as they came

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader:
        """A header as sent; unknown or malformed parts are kept or dropped, never raised."""
        fields: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        for part in (value or "").split(";"):
            key, _, field = part.strip().partition("=")
            if not key or not field:
                continue
            if key in ("Root", "Parent", "Sampled"):
                fields[key] = field.strip()
            else:
                extra.append((key, field.strip()))
        sampled = fields.get("Sampled")
        return cls(
            root=fields.get("Root") if TRACE_ID.match(fields.get("Root", "")) else None,
            parent=fields.get("Parent") if SEGMENT_ID.match(fields.get("Parent", "")) else None,
            sampled=sampled if sampled in ("0", "1", "?") else None,
            extra=tuple(extra),
        )

    @property
    def decided(self) -> bool:
        return self.sampled in ("0", "1")

    @property
    def is_sampled(self) -> bool:
        return self.sampled == "1"

    def with_(self, **changes: str | None) -> TraceHeader:
        return replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        parts = []
        if self.root:
            parts.append(f"Root={self.root}")
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={self.sampled}")
        parts += [f"{key}={value}" for key, value in self.extra if key != "Self"]
        return ";".join(parts)
