"""Rate limiting by the generic cell rate algorithm (GCRA), plus a daily quota. No I/O.

A key's state is its theoretical arrival time ``tat`` (µs): the time at which its token bucket
would be full again. Admitting a request moves ``tat`` one interval (``1/rate``) later, starting
from now if the bucket was already full; a request is admitted while the new ``tat`` is at most
``burst`` intervals ahead of now. Over any window of ``w`` seconds this admits at most
``burst + rate * w`` requests, which is the guarantee the API documents.

The two ways ``tat`` can move are written as two different conditional updates (see
``edge.dal.buckets``): a full bucket gets ``tat = now + interval`` (condition: ``tat <= now``),
a busy one gets ``tat = tat + interval`` (condition: ``now < tat <= now + tolerance -
interval``). The second is relative, so concurrent admissions of a busy key all succeed without
a read; each conditional update either applies in full or fails, so no admission is lost or
counted twice. The quota works the same way: ``quotaUsed + 1`` for today, or a reset to 1 on a
new UTC day.

Every successful update only moves ``tat`` and ``quotaUsed`` forward, so a state read earlier is
never ahead of the stored one: a rejection decided on it would also be decided on the stored
state. The limiter uses this to reject from memory.
"""

import math
from datetime import UTC, datetime, timedelta

from edge.models import (
    MICROS,
    BucketState,
    Limit,
    PlanLimits,
    QuotaStep,
    RateStep,
    Step,
    Verdict,
)


def utc_day(now_us: int) -> str:
    return datetime.fromtimestamp(now_us / MICROS, UTC).strftime("%Y-%m-%d")


def seconds_to_next_day(now_us: int) -> int:
    now = datetime.fromtimestamp(now_us / MICROS, UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def assumed_state(now_us: int) -> BucketState:
    """What to assume about a key never seen in this execution environment: a full bucket that
    has been used today. Only ever used to choose the first update, never to reject."""
    return BucketState(tat=None, quota_day=utc_day(now_us), quota_used=0)


def next_step(state: BucketState, plan: str, limits: PlanLimits, now_us: int) -> Step | Verdict:
    """The update that admits a request if ``state`` is current, or the rejection it implies."""
    today = utc_day(now_us)
    if state.tat is not None and state.tat > now_us:
        latest = now_us + limits.tolerance_us - limits.interval_us
        if state.tat > latest:
            return _rejected(
                state,
                plan,
                limits,
                now_us,
                exceeded=Limit.RATE,
                retry_after_s=_ceil_s(state.tat - latest),
            )
        rate = RateStep.BUSY
    else:
        rate = RateStep.FULL
    if state.quota_day == today:
        if state.quota_used >= limits.daily_quota:
            return _rejected(
                state,
                plan,
                limits,
                now_us,
                exceeded=Limit.QUOTA,
                retry_after_s=seconds_to_next_day(now_us),
            )
        quota = QuotaStep.SAME_DAY
    else:
        quota = QuotaStep.NEW_DAY
    return Step(rate=rate, quota=quota, now_us=now_us, today=today)


def admitted(state: BucketState, plan: str, limits: PlanLimits, now_us: int) -> Verdict:
    """The verdict for a request whose update left the key in ``state``."""
    assert state.tat is not None
    return Verdict(
        admitted=True,
        plan=plan,
        limits=limits,
        remaining=max(0, (now_us + limits.tolerance_us - state.tat) // limits.interval_us),
        reset_s=_ceil_s(state.tat - now_us),
        quota_remaining=max(0, limits.daily_quota - state.quota_used),
    )


def contended(state: BucketState, plan: str, limits: PlanLimits, now_us: int) -> Verdict:
    """Every attempt lost a race against another update of the same key: refuse rather than
    risk admitting more than the plan allows. The client may retry after one interval."""
    return _rejected(
        state,
        plan,
        limits,
        now_us,
        exceeded=Limit.RATE,
        retry_after_s=_ceil_s(limits.interval_us),
    )


def _rejected(
    state: BucketState,
    plan: str,
    limits: PlanLimits,
    now_us: int,
    *,
    exceeded: Limit,
    retry_after_s: int,
) -> Verdict:
    used = state.quota_used if state.quota_day == utc_day(now_us) else 0
    return Verdict(
        admitted=False,
        plan=plan,
        limits=limits,
        remaining=0,
        reset_s=_ceil_s((state.tat or now_us) - now_us),
        quota_remaining=max(0, limits.daily_quota - used),
        retry_after_s=max(1, retry_after_s),
        exceeded=exceeded,
    )


def _ceil_s(micros: int) -> int:
    return max(0, math.ceil(micros / MICROS))
