"""The retry schedule: exponential backoff with full jitter (AWS Architecture Blog,
"Exponential Backoff And Jitter"): retry ``n`` waits ``uniform(0, cap(n))`` with
``cap(n) = min(max_delay, base * factor ** (n - 1))``. Full jitter spreads the retries of
many messages that failed together (a subscriber's outage) over the whole window instead of
sending them back in one wave when it recovers."""

from collections.abc import Callable

from webhooks.models import RetrySchedule


def retry_cap(schedule: RetrySchedule, retry: int) -> float:
    """The longest wait before retry ``retry`` (1 = the second attempt)."""
    if retry < 1:
        raise ValueError("retries count from 1")
    return min(schedule.max_delay_seconds, schedule.base_seconds * schedule.factor ** (retry - 1))


def retry_delay(schedule: RetrySchedule, retry: int, random: Callable[[], float]) -> float:
    """The wait before retry ``retry``: ``random()`` (in [0, 1)) scaled to its cap."""
    return random() * retry_cap(schedule, retry)


def exhausted(schedule: RetrySchedule, attempt: int) -> bool:
    """True when attempt ``attempt`` (1 = the first) was the last one the schedule allows."""
    return attempt >= schedule.max_attempts
