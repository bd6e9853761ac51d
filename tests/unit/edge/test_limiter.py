"""The limiter against DynamoDB (moto): concurrent callers in many execution environments,
refill over time, per-key isolation, the daily quota, races."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from edge.dal.buckets import BucketStore, Outcome, bucket_key
from edge.limiter import RateLimiter
from edge.models import Limit, PlanLimits, Step
from tests.unit.domain_common.fixtures import REGION
from tests.unit.edge.conftest import FakeClock

BASIC = PlanLimits(rate=5, burst=10, daily_quota=10_000)
PREMIUM = PlanLimits(rate=50, burst=100, daily_quota=200_000)


def environments(table: str, clock: FakeClock, count: int) -> list[RateLimiter]:
    """``count`` limiters, as in as many Lambda execution environments: nothing shared but the
    table."""
    return [RateLimiter(BucketStore(table), clock=clock) for _ in range(count)]


def hammer(limiters: list[RateLimiter], key: str, limits: PlanLimits, per_limiter: int) -> int:
    """Every limiter asks for ``per_limiter`` admissions at once, from its own thread; returns
    how many were admitted."""
    start = threading.Barrier(len(limiters))

    def calls(limiter: RateLimiter) -> int:
        start.wait()
        return sum(limiter.check(key, "plan", limits).admitted for _ in range(per_limiter))

    with ThreadPoolExecutor(max_workers=len(limiters)) as pool:
        return sum(pool.map(calls, limiters))


def test_concurrent_environments_never_admit_more_than_the_burst(
    rate_limit_table, atomic_dynamodb_requests, clock
):
    # Given 16 execution environments and an idle key on the basic plan (burst 10)
    limiters = environments(rate_limit_table, clock, 16)
    # When they all send 5 requests for that key at the same instant (80 requests)
    admitted = hammer(limiters, "key-1", BASIC, 5)
    # Then exactly the burst is admitted: none more, none lost
    assert admitted == BASIC.burst


def test_the_bucket_refills_over_time_at_the_plan_rate(
    rate_limit_table, atomic_dynamodb_requests, clock
):
    # Given a key whose burst was used up by concurrent callers
    limiters = environments(rate_limit_table, clock, 8)
    assert hammer(limiters, "key-1", BASIC, 4) == BASIC.burst
    # When 1 s passes and they all try again
    clock.advance(1.0)
    # Then exactly rate x 1 s more are admitted
    assert hammer(limiters, "key-1", BASIC, 4) == BASIC.rate
    # And after 2 s of quiet the bucket is full again (2 s x 5/s = 10 tokens)
    clock.advance(2.0)
    assert hammer(limiters, "key-1", BASIC, 4) == BASIC.burst


def test_admissions_stay_within_burst_plus_rate_over_a_moving_window(
    rate_limit_table, atomic_dynamodb_requests
):
    # Given a clock every caller moves forward by 5 ms per request (200 requests/s offered)
    lock = threading.Lock()
    clock = FakeClock()
    start = clock.now

    def ticking() -> float:
        with lock:
            clock.advance(0.005)
            return clock.now

    limiters = [RateLimiter(BucketStore(rate_limit_table), clock=ticking) for _ in range(8)]
    # When 8 environments send 50 requests each (about 2 s of traffic)
    admitted = hammer(limiters, "key-1", BASIC, 50)
    # Then the limiter admitted at most burst + rate x elapsed, and not much less
    elapsed = clock.now - start
    assert admitted <= BASIC.burst + BASIC.rate * elapsed
    assert admitted >= BASIC.burst + BASIC.rate * elapsed - 2


def test_a_slow_table_under_concurrent_admissions_never_starves_a_request(rate_limit_table, clock):
    # Given another environment that admits a request of the same key just before each of our
    # updates lands, and a table so slow that more than an interval passes per call
    store = BucketStore(rate_limit_table)
    other = RateLimiter(BucketStore(rate_limit_table), clock=clock)

    class Raced:
        calls = 0

        def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome:
            self.calls += 1
            assert other.check(api_key_id, "premium", limits).admitted
            clock.advance(limits.interval_us / 1_000_000 + 0.001)
            return store.apply(api_key_id, step, limits)

    raced = Raced()
    # When our request asks while the bucket has plenty of room
    verdict = RateLimiter(raced, clock=clock).check("key-1", "premium", PREMIUM)
    # Then it is admitted: once a condition failed, the bucket is known to be busy
    assert verdict.admitted
    assert raced.calls == 2


def test_a_request_that_waited_on_the_table_is_not_refused_for_its_wait(rate_limit_table, clock):
    # Given a table so slow that our update lands after more than the burst tolerance, and
    # another environment that admits a request of the same key meanwhile (moving tat on)
    store = BucketStore(rate_limit_table)
    other = RateLimiter(BucketStore(rate_limit_table), clock=clock)
    tolerance_s = PREMIUM.burst / PREMIUM.rate

    class Slow:
        calls = 0

        def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome:
            self.calls += 1
            if self.calls == 1:
                clock.advance(tolerance_s + 1)
                assert other.check(api_key_id, "premium", limits).admitted
            return store.apply(api_key_id, step, limits)

    slow = Slow()
    # When our request, arrived when the bucket was full, is finally decided
    verdict = RateLimiter(slow, clock=clock).check("key-1", "premium", PREMIUM)
    # Then it is admitted: two requests in a second is far below the plan's rate
    assert verdict.admitted
    assert slow.calls == 2


def test_one_noisy_key_does_not_throttle_another(rate_limit_table, atomic_dynamodb_requests, clock):
    limiters = environments(rate_limit_table, clock, 8)
    # Given a noisy client that drains its bucket and keeps hammering
    assert hammer(limiters, "noisy", BASIC, 10) == BASIC.burst
    # When a quiet client on the same plan calls at the same instant
    verdicts = [limiters[0].check("quiet", "basic", BASIC) for _ in range(3)]
    # Then the quiet one is admitted with its own full bucket
    assert [v.admitted for v in verdicts] == [True, True, True]
    assert verdicts[-1].remaining == BASIC.burst - 3


def test_each_key_gets_its_plans_limits(rate_limit_table, atomic_dynamodb_requests, clock):
    limiters = environments(rate_limit_table, clock, 8)
    assert hammer(limiters, "basic-key", BASIC, 20) == BASIC.burst
    assert hammer(limiters, "premium-key", PREMIUM, 20) == PREMIUM.burst


def test_a_refused_request_tells_when_it_will_be_admitted(rate_limit_table, clock):
    limiter = RateLimiter(BucketStore(rate_limit_table), clock=clock)
    for _ in range(BASIC.burst):
        assert limiter.check("key-1", "basic", BASIC).admitted
    # When the bucket is empty
    refused = limiter.check("key-1", "basic", BASIC)
    assert (refused.admitted, refused.exceeded, refused.retry_after_s) == (False, Limit.RATE, 1)
    # Then another environment, after waiting Retry-After, is admitted
    clock.advance(refused.retry_after_s)
    other = RateLimiter(BucketStore(rate_limit_table), clock=clock)
    assert other.check("key-1", "basic", BASIC).admitted


def test_the_daily_quota_is_shared_by_all_environments(
    rate_limit_table, atomic_dynamodb_requests, clock
):
    tiny = PlanLimits(rate=1000, burst=1000, daily_quota=7)
    limiters = environments(rate_limit_table, clock, 4)
    assert hammer(limiters, "key-1", tiny, 5) == 7
    refused = limiters[0].check("key-1", "tiny", tiny)
    assert (refused.exceeded, refused.quota_remaining) == (Limit.QUOTA, 0)
    # And a new UTC day starts the count again
    clock.advance(refused.retry_after_s)
    assert limiters[1].check("key-1", "tiny", tiny).quota_remaining == 6


def test_the_item_stores_the_key_id_and_expires_when_idle(rate_limit_table, clock):
    RateLimiter(BucketStore(rate_limit_table), clock=clock).check("key-1", "basic", BASIC)
    table = boto3.resource("dynamodb", region_name=REGION).Table(rate_limit_table)
    item = table.get_item(Key=bucket_key("key-1"))["Item"]
    assert set(item) == {"pk", "tat", "quotaDay", "quotaUsed", "expiresAt"}
    assert item["expiresAt"] == int(clock.now) + 2 * 86_400


def test_a_refusal_known_from_memory_costs_no_round_trip(rate_limit_table, clock):
    store = CountingStore(BucketStore(rate_limit_table))
    limiter = RateLimiter(store, clock=clock)
    for _ in range(BASIC.burst + 1):
        limiter.check("key-1", "basic", BASIC)
    calls = store.calls
    # When the drained key keeps calling within the same instant
    for _ in range(20):
        assert not limiter.check("key-1", "basic", BASIC).admitted
    # Then none of the refusals touched the table
    assert store.calls == calls


def test_endless_races_refuse_rather_than_over_admit(clock):
    store = AlwaysRaced()
    verdict = RateLimiter(store, clock=clock, max_attempts=3).check("key-1", "basic", BASIC)
    assert (verdict.admitted, verdict.retry_after_s, store.calls) == (False, 1, 3)


class CountingStore:
    def __init__(self, inner: BucketStore) -> None:
        self.inner, self.calls = inner, 0

    def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome:
        self.calls += 1
        return self.inner.apply(api_key_id, step, limits)


class AlwaysRaced:
    """A store where another environment always wins: the stored day keeps flipping."""

    def __init__(self) -> None:
        self.calls = 0

    def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome:
        from edge.models import BucketState

        self.calls += 1
        day = "1999-01-01" if self.calls % 2 else step.today
        return Outcome(False, BucketState(tat=None, quota_day=day, quota_used=0))


@pytest.mark.parametrize("typed", [True, False])
def test_state_is_read_from_either_item_form(typed: bool):
    from edge.dal.buckets import _state

    item: dict[str, Any] = (
        {"tat": {"N": "5"}, "quotaDay": {"S": "2027-01-15"}, "quotaUsed": {"N": "2"}}
        if typed
        else {"tat": 5, "quotaDay": "2027-01-15", "quotaUsed": 2}
    )
    state = _state(item)
    assert (state.tat, state.quota_day, state.quota_used) == (5, "2027-01-15", 2)
