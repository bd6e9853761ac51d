"""The rate limiter: plans the next update from what it knows, applies it, re-plans on a race."""

import time
from collections.abc import Callable
from typing import Protocol

from edge.dal.buckets import Outcome
from edge.logic.gcra import Step, admitted, assumed_state, contended, next_step
from edge.models import MICROS, BucketState, PlanLimits, Verdict

MAX_ATTEMPTS = 6
"""Conditional updates tried per request. Every attempt of a request uses the same ``now``, its
arrival time: a failed condition then proves that the bucket is busy (``tat`` only moves
forward) or that today's count exists, so a request needs at most three attempts (full ->
busy, new day -> same day) whatever the concurrency and however slow the table. Re-reading
the clock per attempt would let a slow table flip a key between full and busy for ever. The
clock is read again only before refusing: a request is refused for the state of the bucket at
the time of refusal, not at its arrival (a table slower than the burst tolerance would
otherwise refuse requests that later ones, with later clocks, made look early)."""


class Buckets(Protocol):
    def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome: ...


class RateLimiter:
    """Admits or refuses requests per API key; safe across any number of execution
    environments (all coordination is in the store's conditional updates).

    It remembers the last stored state it saw of each key: a rejection that state implies is
    answered without a round trip (states only move forward; see ``edge.logic.gcra``).
    """

    def __init__(
        self,
        buckets: Buckets,
        clock: Callable[[], float] = time.time,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._buckets = buckets
        self._clock = clock
        self._max_attempts = max_attempts
        self._seen: dict[str, BucketState] = {}

    def check(self, api_key_id: str, plan: str, limits: PlanLimits) -> Verdict:
        """Admit one request of ``api_key_id`` (on ``plan``), arrived now, or say why not."""
        now_us = self._now_us()
        state = self._seen.get(api_key_id) or assumed_state(now_us)
        for _ in range(self._max_attempts):
            planned = next_step(state, plan, limits, now_us)
            if isinstance(planned, Verdict) and (current_us := self._now_us()) > now_us:
                # A refusal is judged at the time it is made: a request that waited on a slow
                # table while later requests moved the bucket on is not refused for its wait.
                now_us = current_us
                planned = next_step(state, plan, limits, now_us)
            if isinstance(planned, Verdict):
                return planned
            outcome = self._buckets.apply(api_key_id, planned, limits)
            self._seen[api_key_id] = outcome.state
            if outcome.applied:
                return admitted(outcome.state, plan, limits, now_us)
            state = outcome.state
        return contended(state, plan, limits, now_us)

    def _now_us(self) -> int:
        return int(self._clock() * MICROS)
