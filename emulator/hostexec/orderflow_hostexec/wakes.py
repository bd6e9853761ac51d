"""Waiting for something to poll, instead of polling on a timer (standard library only).

The event-source pollers of an idle emulator used to ask their source every 50-200 ms: eight
SQS queues and a DynamoDB stream, ~60 internal requests a second, a third of a core doing
nothing (docs/performance/emulator.md). Two waits replace those polls:

- ``wait_until_ready``: an SQS poller waits on the queue's own condition (the one SQS's
  ``ReceiveMessage`` long poll waits on) until a message is visible, as AWS's pollers long-poll;
- ``Wakes``: a stream poller whose last reads found nothing waits until something may have
  written to a table (``wake``: a Lambda invocation ended, a write went through the gateway)
  or ``idle_s`` passed, whichever comes first.

Both wake at least every ``slice_s`` to look at their mapping's stop event, so that disabling
or deleting a mapping stops its poller within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


class Waitable(Protocol):
    """What ``queue.Queue`` offers: its condition, notified on every ``put``, and its size
    (``_qsize``, read under the condition's lock: ``qsize`` takes that lock itself)."""

    not_empty: threading.Condition

    def _qsize(self) -> int: ...


def wait_until_ready(
    waitable: Waitable,
    timeout_s: float,
    stop: StopEvent | None = None,
    *,
    slice_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    at_least: int = 1,
) -> bool:
    """Block until ``waitable`` holds ``at_least`` items (True), ``timeout_s`` passed or
    ``stop`` is set (False)."""
    deadline = clock() + timeout_s
    condition = waitable.not_empty
    with condition:
        while True:
            if waitable._qsize() >= at_least:
                return True
            remaining = deadline - clock()
            if remaining <= 0 or (stop is not None and stop.is_set()):
                return False
            condition.wait(min(remaining, slice_s))


class Wakes:
    """A counter of wake-ups: ``wake`` bumps it, ``wait_for`` blocks until it moved past what a
    poller saw."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.generation = 0

    def wake(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait_for(
        self,
        seen: int,
        timeout_s: float,
        stop: StopEvent | None = None,
        slice_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """True once ``generation`` differs from ``seen``; False after ``timeout_s`` or when
        ``stop`` is set."""
        deadline = clock() + timeout_s
        with self._changed:
            while self.generation == seen:
                remaining = deadline - clock()
                if remaining <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._changed.wait(min(remaining, slice_s))
            return True


STREAM_WRITES = Wakes()
