"""The circuit breaker's state machine, on its DynamoDB store (moto), with a clock the test moves.

Concurrent execution environments are several ``CircuitBreaker`` instances over one table.
Their races are written as deterministic interleavings (``Interleaved`` runs another caller
between one caller's read and its conditional write), not threads: moto does not make a
conditional write atomic against another thread's, so a threaded test could pass or fail
for moto's reasons.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from payments.dal.breaker import BreakerRepository
from payments.errors import CircuitOpen, PaymentDeclined, ProviderUnavailable
from payments.logic.breaker import BreakerPolicy, CircuitBreaker, Transition
from payments.models import BreakerRecord, BreakerState

DEPENDENCY = "payment-provider"
POLICY = BreakerPolicy(
    failure_threshold=3, window_seconds=10, cooldown_seconds=5, probe_lease_seconds=15
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Observer:
    transitions: list[Transition] = field(default_factory=list)
    rejections: int = 0
    contentions: list[str] = field(default_factory=list)

    def transitioned(self, transition: Transition) -> None:
        self.transitions.append(transition)

    def rejected(self, dependency: str, record: BreakerRecord) -> None:
        self.rejections += 1

    def contended(self, dependency: str, what: str) -> None:
        self.contentions.append(what)

    def moves(self) -> list[tuple[str, str, str]]:
        return [(t.before.state, t.after.state, t.cause) for t in self.transitions]


class Interleaved:
    """A store that runs ``between`` once, after this caller's next read and before its
    conditional write: another execution environment acting in that gap."""

    def __init__(self, store: BreakerRepository) -> None:
        self._store = store
        self.between: Callable[[], object] | None = None
        self.writes_refused = 0

    def load(self, dependency: str) -> BreakerRecord:
        return self._store.load(dependency)

    def replace(self, dependency: str, record: BreakerRecord, expected_version: int) -> bool:
        if self.between is not None:
            between, self.between = self.between, None
            between()
        written = self._store.replace(dependency, record, expected_version)
        self.writes_refused += not written
        return written


@pytest.fixture
def store(payments_table: str) -> BreakerRepository:
    return BreakerRepository(payments_table)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def observer() -> Observer:
    return Observer()


def breaker(store, clock: Clock, observer: Observer | None = None) -> CircuitBreaker:
    return CircuitBreaker(DEPENDENCY, POLICY, store, observer or Observer(), clock)


def is_failure(error: Exception) -> bool:
    return isinstance(error, ProviderUnavailable)


class Provider:
    """Counts calls; fails while ``down``."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    def __call__(self) -> str:
        self.calls += 1
        if self.down:
            raise ProviderUnavailable("down")
        return "auth-1"


def fail(subject: CircuitBreaker, provider: Provider, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(ProviderUnavailable):
            subject.call(provider, is_failure)


def opened(store, clock: Clock, observer: Observer) -> tuple[CircuitBreaker, Provider]:
    subject, provider = breaker(store, clock, observer), Provider()
    provider.down = True
    fail(subject, provider, POLICY.failure_threshold)
    return subject, provider


def test_closed_lets_calls_through_and_writes_nothing(store, clock, observer):
    subject, provider = breaker(store, clock, observer), Provider()
    assert [subject.call(provider, is_failure) for _ in range(3)] == ["auth-1"] * 3
    assert provider.calls == 3
    assert store.load(DEPENDENCY) == BreakerRecord()  # never written
    assert observer.transitions == []


def test_threshold_failures_within_the_window_open_it_once(store, clock, observer):
    subject, provider = breaker(store, clock, observer), Provider()
    provider.down = True
    fail(subject, provider, 2)
    assert store.load(DEPENDENCY).state is BreakerState.CLOSED
    clock.advance(9)
    fail(subject, provider)
    record = store.load(DEPENDENCY)
    assert (record.state, record.failures, record.opens) == (BreakerState.OPEN, 3, 1)
    assert record.opened_at == pytest.approx(clock.now)
    [transition] = observer.transitions
    assert (transition.before.state, transition.after.state) == ("CLOSED", "OPEN")
    assert transition.cause == "failure threshold reached"
    assert (transition.before.failures, transition.after.failures) == (2, 3)


def test_failures_spread_beyond_the_window_do_not_open_it(store, clock, observer):
    subject, provider = breaker(store, clock, observer), Provider()
    provider.down = True
    fail(subject, provider, 2)
    clock.advance(POLICY.window_seconds)  # the window is over: a new one starts
    fail(subject, provider, 2)
    record = store.load(DEPENDENCY)
    assert (record.state, record.failures) == (BreakerState.CLOSED, 2)
    assert record.window_started == pytest.approx(clock.now)


def test_declines_and_successes_are_not_failures(store, clock, observer):
    subject = breaker(store, clock, observer)

    def decline() -> str:
        raise PaymentDeclined("CARD_DECLINED")

    for _ in range(5):
        with pytest.raises(PaymentDeclined):
            subject.call(decline, is_failure)
    assert store.load(DEPENDENCY).failures == 0
    assert observer.transitions == []


def test_open_fails_fast_without_calling_the_provider(store, clock, observer):
    subject, provider = opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds - 0.5)
    with pytest.raises(CircuitOpen) as raised:
        subject.call(provider, is_failure)
    assert provider.calls == POLICY.failure_threshold  # not called again
    assert observer.rejections == 1
    assert raised.value.retry_after_seconds == pytest.approx(0.5)
    assert type(raised.value).__name__ == "CircuitOpen"


def test_after_the_cooldown_one_probe_closes_it(store, clock, observer):
    subject, provider = opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    provider.down = False
    assert subject.call(provider, is_failure) == "auth-1"
    record = store.load(DEPENDENCY)
    assert (record.state, record.failures, record.probes) == (BreakerState.CLOSED, 0, 1)
    assert observer.moves()[1:] == [
        ("OPEN", "HALF_OPEN", "cool-down over"),
        ("HALF_OPEN", "CLOSED", "probe succeeded"),
    ]


def test_a_failed_probe_reopens_it_for_a_new_cooldown(store, clock, observer):
    subject, provider = opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    fail(subject, provider)  # the probe
    record = store.load(DEPENDENCY)
    assert (record.state, record.opens) == (BreakerState.OPEN, 2)
    assert record.opened_at == pytest.approx(clock.now)
    assert observer.moves()[-1] == ("HALF_OPEN", "OPEN", "probe failed")
    clock.advance(POLICY.cooldown_seconds - 1)
    with pytest.raises(CircuitOpen):
        subject.call(provider, is_failure)
    assert provider.calls == POLICY.failure_threshold + 1


def test_half_open_lets_exactly_one_probe_through(store, clock, observer):
    # Given two execution environments and an open breaker whose cool-down is over
    first, provider = opened(store, clock, observer)
    second = breaker(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    # When the first is admitted as the probe and the second calls while it is out
    probe = first.admit()
    with pytest.raises(CircuitOpen):
        second.call(provider, is_failure)
    # Then only the probe reaches the provider
    assert probe.probe
    assert provider.calls == POLICY.failure_threshold
    first.succeeded(probe)
    provider.down = False
    assert second.call(provider, is_failure) == "auth-1"


def test_a_probe_that_never_reports_loses_its_lease(store, clock, observer):
    first, provider = opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    lost = first.admit()  # its execution environment dies with the probe out
    second = breaker(store, clock, observer)
    clock.advance(POLICY.probe_lease_seconds - 1)
    with pytest.raises(CircuitOpen):
        second.call(provider, is_failure)  # the lease still holds
    clock.advance(1)
    provider.down = False
    assert second.call(provider, is_failure) == "auth-1"  # a new probe, which closes it
    assert store.load(DEPENDENCY).state is BreakerState.CLOSED
    assert ("HALF_OPEN", "HALF_OPEN", "probe lease expired") in observer.moves()
    # the first probe reporting late changes nothing
    first.failed(lost)
    assert store.load(DEPENDENCY).state is BreakerState.CLOSED
    assert observer.contentions == ["stale probe failure"]


def test_concurrent_callers_after_the_cooldown_make_one_probe(store, clock, observer):
    # Given an open breaker whose cool-down is over, and two environments A and B
    opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    racing = Interleaved(store)
    a = breaker(racing, clock, observer)
    b = breaker(store, clock, observer)
    tickets = []
    # When B becomes the probe between A's read (cool-down over) and A's write
    racing.between = lambda: tickets.append(b.admit())
    with pytest.raises(CircuitOpen):
        a.admit()
    # Then A's write was refused, A read again, saw B's probe out and failed fast
    assert racing.writes_refused == 1
    assert [ticket.probe for ticket in tickets] == [True]
    assert [m for m in observer.moves() if m[1] == "HALF_OPEN"] == [
        ("OPEN", "HALF_OPEN", "cool-down over")
    ]
    assert store.load(DEPENDENCY).probes == 1


def test_concurrent_failures_are_each_counted_once(store, clock, observer):
    # Given a high threshold and five environments whose writes all interleave: each one's
    # read is followed by the next one's whole failure before its own write
    policy = BreakerPolicy(
        failure_threshold=100, window_seconds=10, cooldown_seconds=5, probe_lease_seconds=15
    )
    stores = [Interleaved(store) for _ in range(5)]
    callers = [CircuitBreaker(DEPENDENCY, policy, s, observer, clock) for s in stores]
    for index, racing in enumerate(stores[:-1]):
        next_caller = callers[index + 1]
        racing.between = lambda caller=next_caller: caller.failed(caller.admit())
    # When the first fails (which runs the others inside its read-write gap)
    callers[0].failed(callers[0].admit())
    # Then no failure was lost or counted twice, though four writes were refused
    assert store.load(DEPENDENCY).failures == 5
    assert sum(s.writes_refused for s in stores) == 4


def test_concurrent_failures_at_the_threshold_open_it_once(store, clock, observer):
    # Given two failures counted, and two environments failing at once
    subject, provider = breaker(store, clock, observer), Provider()
    provider.down = True
    fail(subject, provider, POLICY.failure_threshold - 1)
    racing = Interleaved(store)
    a, b = breaker(racing, clock, observer), breaker(store, clock, observer)
    ticket_a, ticket_b = a.admit(), b.admit()  # both admitted while CLOSED
    racing.between = lambda: b.failed(ticket_b)  # B's failure lands in A's gap
    a.failed(ticket_a)
    # Then B opened it, A's failure found it open (not counted), one transition reported
    record = store.load(DEPENDENCY)
    assert (record.state, record.failures, record.opens) == (BreakerState.OPEN, 3, 1)
    assert [m[1] for m in observer.moves()] == ["OPEN"]


def test_a_close_and_a_stale_probe_success_do_not_both_win(store, clock, observer):
    opened(store, clock, observer)
    clock.advance(POLICY.cooldown_seconds)
    a, b = breaker(store, clock, observer), breaker(store, clock, observer)
    stale = a.admit()
    clock.advance(POLICY.probe_lease_seconds)
    fresh = b.admit()  # A's lease expired: B probes
    b.failed(fresh)  # B's probe failed: open again
    a.succeeded(stale)  # A's late success must not close it
    assert store.load(DEPENDENCY).state is BreakerState.OPEN
    assert observer.contentions == ["stale probe success"]
