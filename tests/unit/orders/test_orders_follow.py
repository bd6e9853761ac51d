"""Following an order (orders/logic/follow.py): ETags, conditional GETs, long polling.

The logic is driven by an in-memory reader and a fake clock (sleeping advances it), so a 20 s
wait takes no time and every read is counted."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from edge.http import if_none_match
from orders.logic.follow import etag_of, follow_order, snapshot

ORDER_ID = "order-follow-1"
INTERVAL_S = 0.25


def entry(sequence: int, type_: str, **data: Any) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "id": f"evt-{sequence}",
        "type": type_,
        "source": "orderflow.orders",
        "time": "2025-01-15T10:30:00.000Z",
        "data": data,
    }


class FakeClock:
    """Monotonic seconds that move only when someone sleeps; ``at`` schedules a change."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []
        self._scheduled: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        for when, change in list(self._scheduled):
            if when <= self.t:
                self._scheduled.remove((when, change))
                change()

    def at(self, delay_s: float, change: Callable[[], None]) -> None:
        self._scheduled.append((self.t + delay_s, change))


class Reader:
    """The order's partition in memory, counting each kind of read."""

    def __init__(self) -> None:
        self.order: dict[str, Any] | None = {
            "orderId": ORDER_ID,
            "customerId": "c-1",
            "status": "PENDING",
            "items": [{"sku": "SKU-MUG-001", "quantity": 1, "unitPrice": "12.50"}],
            "total": "12.50",
        }
        self.history: list[dict[str, Any]] = []
        self.full_reads = 0
        self.version_reads = 0

    def read_order(
        self, order_id: str, *, consistent: bool = False
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        self.full_reads += 1
        return self.order, list(self.history)

    def order_version(self, order_id: str) -> int:
        self.version_reads += 1
        return max((item["sequence"] for item in self.history), default=0)

    def record(self, type_: str, **data: Any) -> None:
        self.history.append(entry(len(self.history) + 1, type_, **data))


@pytest.fixture
def reader() -> Reader:
    return Reader()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def follow(reader: Reader, clock: FakeClock, *, known: str | None = None, wait_s: float = 0):
    return follow_order(
        ORDER_ID, known=known, wait_s=wait_s, interval_s=INTERVAL_S, reader=reader, clock=clock
    )


def current_etag(reader: Reader) -> str:
    found = snapshot(ORDER_ID, reader)
    assert found is not None
    return found.etag


# -- ETags -----------------------------------------------------------------------------------


def test_the_etag_is_stable_for_the_same_state_and_changes_with_the_history(reader):
    first, again = current_etag(reader), current_etag(reader)
    assert first == again
    assert first.startswith('"') and first.endswith('"') and not first.startswith("W/")
    reader.record("OrderPlaced")
    placed = current_etag(reader)
    reader.record("InventoryReserved")
    reserved = current_etag(reader)
    assert len({first, placed, reserved}) == 3


def test_the_etag_is_the_same_in_every_process(reader):
    # a hash of the order, its status and its last sequence: nothing per process or per call
    reader.record("OrderPlaced")
    found = snapshot(ORDER_ID, reader)
    assert found is not None
    expected = hashlib.sha256(f"{ORDER_ID}\nPENDING\n1".encode()).hexdigest()[:32]
    assert etag_of(found.details) == f'"{expected}"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x","y"', False),
        ("*", True),
        ("abc", False),
        ('"abcd"', False),
    ],
)
def test_if_none_match_compares_each_tag_weakly(header, matches):
    assert if_none_match(header, '"abc"') is matches


# -- without a wait --------------------------------------------------------------------------


def test_without_a_wait_the_order_is_read_once_whatever_the_caller_knows(reader, clock):
    found = follow(reader, clock, known='"stale"')
    assert found is not None and found.details.status == "PENDING"
    assert (reader.full_reads, reader.version_reads, clock.slept) == (1, 0, [])


def test_an_unknown_order_is_not_waited_for(reader, clock):
    reader.order = None
    assert follow(reader, clock, wait_s=20) is None
    assert (reader.full_reads, reader.version_reads, clock.slept) == (1, 0, [])


# -- long polling ----------------------------------------------------------------------------


def test_a_caller_whose_etag_is_stale_is_answered_at_once(reader, clock):
    stale = current_etag(reader)
    reader.record("OrderPlaced")
    found = follow(reader, clock, known=stale, wait_s=20)
    assert found is not None and found.version == 1
    assert clock.slept == [] and reader.version_reads == 0


def test_a_change_is_answered_within_one_interval_with_one_full_read(reader, clock):
    known = current_etag(reader)
    reader.full_reads = 0
    start = clock.t
    clock.at(3.1, lambda: reader.record("OrderPlaced"))
    found = follow(reader, clock, known=known, wait_s=20)
    assert found is not None and found.etag != known
    assert [e.type for e in found.details.history] == ["OrderPlaced"]
    waited = clock.t - start
    assert 3.1 <= waited <= 3.1 + INTERVAL_S
    # one full read at the start, one after the version moved; a version read per interval
    assert reader.full_reads == 2
    assert reader.version_reads == round(waited / INTERVAL_S)


def test_without_an_etag_the_change_is_relative_to_the_order_when_the_request_came(reader, clock):
    reader.record("OrderPlaced")
    clock.at(1.0, lambda: reader.record("OrderConfirmed"))
    found = follow(reader, clock, wait_s=5)
    assert found is not None and found.details.status == "CONFIRMED"
    assert clock.t - 1000.0 == pytest.approx(1.0)


def test_nothing_changed_by_the_deadline_gives_the_order_as_it_is(reader, clock):
    known = current_etag(reader)
    found = follow(reader, clock, known=known, wait_s=2)
    assert found is not None and found.etag == known  # the handler answers 304
    assert sum(clock.slept) == pytest.approx(2)


@pytest.mark.parametrize("wait_s", [1, 7.3, 20])
def test_a_waiting_request_reads_at_most_once_per_interval(reader, clock, wait_s):
    # Given nothing changes while the caller waits
    found = follow(reader, clock, known=current_etag(reader), wait_s=wait_s)
    assert found is not None
    # Then it made one full read at the start and one small read per interval: at most
    # 1/interval (4) reads per waiting second, plus the one at the start
    assert max(clock.slept) <= INTERVAL_S
    assert reader.version_reads <= wait_s / INTERVAL_S + 1
    assert reader.full_reads == 2  # current_etag's read and the request's first
    assert (reader.version_reads + 1) / wait_s <= 1 / INTERVAL_S + 1
