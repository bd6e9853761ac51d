"""The GCRA arithmetic on its own: what a state admits, what it refuses and for how long."""

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.logic.gcra import (
    admitted,
    assumed_state,
    next_step,
    seconds_to_next_day,
    utc_day,
)
from edge.models import MICROS, BucketState, Limit, PlanLimits, QuotaStep, RateStep, Step, Verdict

BASIC = PlanLimits(rate=5, burst=10, daily_quota=100)
NOW = 1_800_000_000 * MICROS  # 2027-01-15T08:00:00Z
TODAY = utc_day(NOW)


def run(limits: PlanLimits, times_us: list[int]) -> list[bool]:
    """Feed requests at ``times_us`` through the logic, applying each admission as the store
    would, and return which were admitted."""
    state = BucketState()
    results = []
    for now in times_us:
        planned = next_step(state, "basic", limits, now)
        if isinstance(planned, Verdict):
            results.append(False)
            continue
        tat = (
            now + limits.interval_us
            if planned.rate is RateStep.FULL
            else state.tat + limits.interval_us  # type: ignore[operator]
        )
        used = state.quota_used + 1 if planned.quota is QuotaStep.SAME_DAY else 1
        state = BucketState(tat=tat, quota_day=planned.today, quota_used=used)
        results.append(True)
    return results


def test_a_full_bucket_admits_a_burst_then_refuses():
    # Given an idle key on a plan of 5 requests/s in bursts of 10
    # When 15 requests arrive at the same instant
    results = run(BASIC, [NOW] * 15)
    # Then the first 10 are admitted and the other 5 refused
    assert results == [True] * 10 + [False] * 5


def test_the_bucket_refills_at_the_plan_rate():
    # Given a drained bucket
    drained = [NOW] * 10
    # When requests keep coming for 2 s, 100 per second
    later = [NOW + i * MICROS // 100 for i in range(1, 201)]
    results = run(BASIC, drained + later)
    # Then besides the burst exactly rate x 2 s = 10 more are admitted
    assert sum(results) == 10 + 10


def test_never_more_than_burst_plus_rate_times_window():
    # Given requests every millisecond for 3 s
    times = [NOW + i * 1000 for i in range(3000)]
    results = run(BASIC, times)
    # Then every window admits at most burst + rate x its length
    admitted_at = [t for t, ok in zip(times, results, strict=True) if ok]
    for start in range(0, 3000, 250):
        for length in (1, 500, 1000, 2000):
            window = [t for t in admitted_at if times[start] <= t < times[start] + length * 1000]
            assert len(window) <= BASIC.burst + BASIC.rate * length / 1000


def test_refusal_says_exactly_when_to_come_back():
    # Given a drained bucket
    state = BucketState(tat=NOW + BASIC.tolerance_us, quota_day=TODAY, quota_used=10)
    # When one more request arrives
    verdict = next_step(state, "basic", BASIC, NOW)
    # Then it is refused by the rate limit, to retry in one interval (0.2 s -> 1 s rounded up)
    assert isinstance(verdict, Verdict)
    assert (verdict.admitted, verdict.exceeded, verdict.remaining) == (False, Limit.RATE, 0)
    assert verdict.retry_after_s == 1
    # And after exactly that interval the same state admits it
    assert isinstance(next_step(state, "basic", BASIC, NOW + BASIC.interval_us), Step)


def test_a_slow_plan_computes_a_longer_retry_after():
    slow = PlanLimits(rate=0.25, burst=1, daily_quota=100)  # one request every 4 s
    state = BucketState(tat=NOW + slow.interval_us, quota_day=TODAY, quota_used=1)
    verdict = next_step(state, "slow", slow, NOW + MICROS)
    assert isinstance(verdict, Verdict)
    assert verdict.retry_after_s == 3


def test_the_daily_quota_refuses_until_midnight_utc():
    # Given a key that used its whole quota today, with tokens left in its bucket
    state = BucketState(tat=None, quota_day=TODAY, quota_used=BASIC.daily_quota)
    # When it asks again
    verdict = next_step(state, "basic", BASIC, NOW)
    # Then the quota refuses it until 00:00 UTC (16 h after 08:00)
    assert isinstance(verdict, Verdict)
    assert (verdict.exceeded, verdict.quota_remaining) == (Limit.QUOTA, 0)
    assert verdict.retry_after_s == 16 * 3600
    # And on the next day it is admitted again, counting from one
    tomorrow = NOW + verdict.retry_after_s * MICROS
    step = next_step(state, "basic", BASIC, tomorrow)
    assert isinstance(step, Step)
    assert step.quota is QuotaStep.NEW_DAY


def test_admission_reports_what_remains_and_when_the_bucket_is_full():
    # Given three requests admitted at once on a fresh bucket
    state = BucketState(tat=NOW + 3 * BASIC.interval_us, quota_day=TODAY, quota_used=3)
    verdict = admitted(state, "basic", BASIC, NOW)
    # Then 7 remain, the bucket is full in 0.6 s (1 s rounded up), 97 remain of the quota
    assert (verdict.remaining, verdict.reset_s, verdict.quota_remaining) == (7, 1, 97)


def test_an_unknown_key_is_assumed_full_and_never_refused_on_assumption():
    assert isinstance(next_step(assumed_state(NOW), "basic", BASIC, NOW), Step)


@pytest.mark.parametrize(
    ("moment", "day", "to_midnight"),
    [
        (datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC), "2027-01-15", 1),
        (datetime(2027, 1, 16, 0, 0, 0, tzinfo=UTC), "2027-01-16", 86_400),
    ],
)
def test_days_are_utc(moment: datetime, day: str, to_midnight: int):
    now = int(moment.timestamp() * MICROS)
    assert (utc_day(now), seconds_to_next_day(now)) == (day, to_midnight)


def test_intervals_round_up_so_rounding_never_over_admits():
    thirds = PlanLimits(rate=3, burst=1, daily_quota=1)
    assert thirds.interval_us == 333_334
    assert thirds.interval_us * 3 >= MICROS


@given(
    rate=st.sampled_from([0.5, 1, 3, 5, 50]),
    burst=st.integers(min_value=1, max_value=20),
    gaps_ms=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=200),
)
@settings(max_examples=200, deadline=None)
def test_any_arrival_pattern_stays_within_burst_plus_rate_times_window(
    rate: float, burst: int, gaps_ms: list[int]
):
    # Given any sequence of arrivals on any plan
    limits = PlanLimits(rate=rate, burst=burst, daily_quota=10**6)
    times = list(itertools.accumulate((gap * 1000 for gap in gaps_ms), initial=NOW))
    admitted_at = [t for t, ok in zip(times, run(limits, times), strict=True) if ok]
    # Then every window [a, b] of admissions holds at most burst + rate x (b - a) of them
    for i, start in enumerate(admitted_at):
        for j in range(i, len(admitted_at)):
            window_s = (admitted_at[j] - start) / MICROS
            assert j - i + 1 <= burst + rate * window_s + 1e-9
    # And a request that finds a whole interval of idle time since the last admission is admitted
    for previous, current, ok in zip(times, times[1:], run(limits, times)[1:], strict=False):
        if current - previous >= limits.tolerance_us:
            assert ok
