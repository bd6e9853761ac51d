"""A circuit breaker whose state is shared by every execution environment (no I/O here).

States of one dependency's breaker::

    CLOSED    --failure_threshold failures within window_seconds-->  OPEN
    OPEN      --cooldown_seconds passed, the next caller becomes the probe-->  HALF_OPEN
    HALF_OPEN --the probe succeeded-->  CLOSED
    HALF_OPEN --the probe failed-->  OPEN (a new cool-down)
    HALF_OPEN --the probe's lease expired (it never reported), the next caller probes-->  HALF_OPEN

CLOSED lets every call through; OPEN, and HALF_OPEN while its probe holds the lease, fail fast
with ``CircuitOpen`` without calling the dependency. The window is fixed: it starts at the first
failure counted and ends ``window_seconds`` later; a failure after it starts a new window.
A success while CLOSED writes nothing (failures age out with their window), so the breaker
costs one consistent read per call when all is well.

The record lives in a store shared by every caller (``BreakerStore``); each change is a
compare-and-set on its ``version``, so of any number of concurrent callers exactly one makes
each transition (and only that one reports it), and every failure counted while CLOSED is
counted once. A caller whose write lost reads again and decides again (``MAX_ATTEMPTS``).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from payments.errors import CircuitOpen
from payments.models import BreakerRecord, BreakerState

MAX_ATTEMPTS = 10
"""Compare-and-set attempts per decision before a caller gives up (fails fast when admitting;
leaves the failure uncounted when recording): only under extreme contention."""


@dataclass(frozen=True)
class BreakerPolicy:
    """The thresholds of one breaker (per stage, from config)."""

    failure_threshold: int
    window_seconds: float
    cooldown_seconds: float
    probe_lease_seconds: float
    """How long the HALF_OPEN probe may take before another caller may probe instead: longer
    than the probe's own call can last (the function timeout), so a live probe keeps it."""


class BreakerStore(Protocol):
    def load(self, dependency: str) -> BreakerRecord:
        """The breaker's record, read consistently (a fresh CLOSED one if none is stored)."""
        ...

    def replace(self, dependency: str, record: BreakerRecord, expected_version: int) -> bool:
        """Store ``record`` if the stored version is still ``expected_version`` (0: none is
        stored); False if another caller wrote first."""
        ...


@dataclass(frozen=True)
class Transition:
    """One change of state, made (and reported) by exactly one caller."""

    dependency: str
    before: BreakerRecord
    after: BreakerRecord
    cause: str  # "failure threshold reached", "cool-down over", ...


class BreakerObserver(Protocol):
    def transitioned(self, transition: Transition) -> None: ...

    def rejected(self, dependency: str, record: BreakerRecord) -> None:
        """A call failed fast (the breaker is OPEN, or HALF_OPEN with its probe out)."""
        ...

    def contended(self, dependency: str, what: str) -> None:
        """A caller gave up after ``MAX_ATTEMPTS`` lost compare-and-sets."""
        ...


@dataclass(frozen=True)
class Ticket:
    """A caller's admission: as probe, with the record its admission wrote."""

    probe: bool
    record: BreakerRecord


# The state machine, as pure functions of (record, policy, now).


def admission(record: BreakerRecord, policy: BreakerPolicy, now: float) -> BreakerRecord | None:
    """None: let the call through as is (CLOSED). Otherwise the record that makes this caller
    the probe, or the same record (unchanged) when the call must fail fast."""
    if record.state is BreakerState.CLOSED:
        return None
    if record.state is BreakerState.OPEN and now < record.opened_at + policy.cooldown_seconds:
        return record
    if record.state is BreakerState.HALF_OPEN and now < record.probe_until:
        return record
    return replace(
        record,
        state=BreakerState.HALF_OPEN,
        probe_until=now + policy.probe_lease_seconds,
        probes=record.probes + 1,
        version=record.version + 1,
    )


def after_failure(record: BreakerRecord, policy: BreakerPolicy, now: float) -> BreakerRecord | None:
    """A non-probe call failed: count it in the CLOSED window, opening at the threshold.
    None when there is nothing to count (the breaker is not CLOSED any more)."""
    if record.state is not BreakerState.CLOSED:
        return None
    in_window = record.failures > 0 and now < record.window_started + policy.window_seconds
    failures = record.failures + 1 if in_window else 1
    counted = replace(
        record,
        failures=failures,
        window_started=record.window_started if in_window else now,
        version=record.version + 1,
    )
    if failures < policy.failure_threshold:
        return counted
    return replace(counted, state=BreakerState.OPEN, opened_at=now, opens=record.opens + 1)


def probe_failed(probe: BreakerRecord, now: float) -> BreakerRecord:
    """HALF_OPEN -> OPEN: a new cool-down from now."""
    return replace(
        probe,
        state=BreakerState.OPEN,
        opened_at=now,
        probe_until=0.0,
        opens=probe.opens + 1,
        version=probe.version + 1,
    )


def probe_succeeded(probe: BreakerRecord) -> BreakerRecord:
    """HALF_OPEN -> CLOSED, with an empty window."""
    return replace(
        probe,
        state=BreakerState.CLOSED,
        failures=0,
        window_started=0.0,
        probe_until=0.0,
        version=probe.version + 1,
    )


class CircuitBreaker:
    """The breaker of one dependency, over a shared store; ``clock`` gives epoch seconds."""

    def __init__(
        self,
        dependency: str,
        policy: BreakerPolicy,
        store: BreakerStore,
        observer: BreakerObserver,
        clock: Callable[[], float],
    ) -> None:
        self.dependency = dependency
        self._policy = policy
        self._store = store
        self._observer = observer
        self._clock = clock

    def call[T](self, operation: Callable[[], T], is_failure: Callable[[Exception], bool]) -> T:
        """Run ``operation`` if the breaker admits it, and record how it went: an exception
        for which ``is_failure`` is true counts as a failure, any other outcome (a result, or
        a business error such as a decline: the dependency answered) as a success.

        Raises:
            CircuitOpen: the breaker is open; ``operation`` was not run.
        """
        ticket = self.admit()
        try:
            result = operation()
        except Exception as exc:
            if is_failure(exc):
                self.failed(ticket)
            else:
                self.succeeded(ticket)
            raise
        self.succeeded(ticket)
        return result

    def admit(self) -> Ticket:
        """Let the call through (as the probe, if the cool-down or a probe's lease is over),
        or raise ``CircuitOpen``."""
        record = BreakerRecord()
        for _ in range(MAX_ATTEMPTS):
            record = self._store.load(self.dependency)
            now = self._clock()
            admitted = admission(record, self._policy, now)
            if admitted is None:
                return Ticket(probe=False, record=record)
            if admitted is record:
                self._observer.rejected(self.dependency, record)
                raise CircuitOpen(self.dependency, self._retry_after(record, now))
            if self._store.replace(self.dependency, admitted, record.version):
                cause = (
                    "cool-down over" if record.state is BreakerState.OPEN else "probe lease expired"
                )
                self._report(record, admitted, cause)
                return Ticket(probe=True, record=admitted)
        self._observer.contended(self.dependency, "admit")
        raise CircuitOpen(self.dependency, self._policy.cooldown_seconds)

    def succeeded(self, ticket: Ticket) -> None:
        if not ticket.probe:
            return  # CLOSED: nothing to write
        closed = probe_succeeded(ticket.record)
        if self._store.replace(self.dependency, closed, ticket.record.version):
            self._report(ticket.record, closed, "probe succeeded")
        else:  # the lease expired and another caller probes now: its outcome decides
            self._observer.contended(self.dependency, "stale probe success")

    def failed(self, ticket: Ticket) -> None:
        now = self._clock()
        if ticket.probe:
            reopened = probe_failed(ticket.record, now)
            if self._store.replace(self.dependency, reopened, ticket.record.version):
                self._report(ticket.record, reopened, "probe failed")
            else:
                self._observer.contended(self.dependency, "stale probe failure")
            return
        for _ in range(MAX_ATTEMPTS):
            record = self._store.load(self.dependency)
            counted = after_failure(record, self._policy, now)
            if counted is None:
                return
            if self._store.replace(self.dependency, counted, record.version):
                if counted.state is not record.state:
                    self._report(record, counted, "failure threshold reached")
                return
        self._observer.contended(self.dependency, "count failure")

    def _report(self, before: BreakerRecord, after: BreakerRecord, cause: str) -> None:
        self._observer.transitioned(Transition(self.dependency, before, after, cause))

    def _retry_after(self, record: BreakerRecord, now: float) -> float:
        if record.state is BreakerState.OPEN:
            return max(0.0, record.opened_at + self._policy.cooldown_seconds - now)
        return max(0.0, record.probe_until - now)
