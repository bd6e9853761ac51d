"""Following an order: its ETag, conditional GETs and long polling (no I/O: the reads and the
clock are passed in).

- **ETag**: strong, derived from what the answer is made of: the order, its status and the
  sequence number of the last event of its history (the per-order logical clock the projector
  advances with every recorded event). The lines and total never change once the order exists,
  so two answers with the same ETag have the same body; the ETag is the same on every call and
  every execution environment (a hash, not a time).
- **Conditional GET**: ``If-None-Match`` naming the current ETag (or ``*``) -> 304 without a
  body (the handler decides from the snapshot returned here).
- **Long polling** (``wait`` seconds): answers as soon as the order changed relative to what the
  caller has (its ``If-None-Match``; without one, the order as it was when the request
  started), or at the deadline. While nothing changes, a waiting request makes one strongly
  consistent read of the order's version (one attribute of one item) per ``interval``; when the
  version moved, one full read. A caller whose ETag is already stale is answered at once.
"""

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from edge.http import if_none_match
from orders.logic.read_model import order_details
from orders.models import OrderDetails

WAIT_CEILING_SECONDS = 20
"""The largest ``wait`` of the API (the stage's ``polling.max_wait_seconds`` may be lower)."""


class OrderReader(Protocol):
    def read_order(
        self, order_id: str, *, consistent: bool = False
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...

    def order_version(self, order_id: str) -> int:
        """The sequence number of the order's last recorded event (0: none yet), read
        strongly consistently."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """One answer of GET /orders/{orderId}: the details, their ETag, and the version they are
    at (the last history sequence, 0 before the first event is recorded)."""

    details: OrderDetails
    etag: str
    version: int


def etag_of(details: OrderDetails) -> str:
    """The strong ETag of ``details`` (quoted, as the header carries it)."""
    version = details.history[-1].sequence if details.history else 0
    digest = hashlib.sha256(f"{details.order_id}\n{details.status}\n{version}".encode())
    return f'"{digest.hexdigest()[:32]}"'


def snapshot(order_id: str, reader: OrderReader, *, consistent: bool = False) -> Snapshot | None:
    """The order as the read model shows it now (None: nothing is known of it)."""
    details = order_details(order_id, *reader.read_order(order_id, consistent=consistent))
    if details is None:
        return None
    version = details.history[-1].sequence if details.history else 0
    return Snapshot(details=details, etag=etag_of(details), version=version)


def follow_order(
    order_id: str,
    *,
    known: str | None,
    wait_s: float,
    interval_s: float,
    reader: OrderReader,
    clock: Clock,
) -> Snapshot | None:
    """The answer to GET /orders/{orderId} from a caller holding ETag(s) ``known`` (its
    ``If-None-Match``): without a wait, the order now; with one, the order once it changed
    (see the module doc), or as it is at the deadline. None: no such order (not waited for)."""
    current = snapshot(order_id, reader, consistent=wait_s > 0)
    if current is None or wait_s <= 0:
        return current
    if known is not None and not if_none_match(known, current.etag):
        return current  # the caller is behind already
    deadline = clock.now() + wait_s
    seen = current.version
    while (remaining := deadline - clock.now()) > 0:
        clock.sleep(min(interval_s, remaining))
        version = reader.order_version(order_id)
        if version == seen:
            continue
        fresh = snapshot(order_id, reader, consistent=True)
        if fresh is None:
            return current
        if fresh.etag != current.etag:
            return fresh
        seen = version
    return current
