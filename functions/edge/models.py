"""The edge's models: a plan's limits, a bucket's stored state, the limiter's verdicts, the
error bodies of the API."""

import math
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared_kernel.models import CamelModel

MICROS = 1_000_000
"""Times are integer microseconds since the epoch: exact arithmetic in DynamoDB and here."""


class PlanLimits(CamelModel):
    """The limits of one usage plan, as the stack configures them (``RATE_LIMIT_PLANS``).

    A token bucket of ``burst`` tokens refilled at ``rate`` tokens per second, and at most
    ``daily_quota`` admitted requests per UTC day. ``api_key_ids`` are the API Gateway key ids
    on this plan.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(gt=0)
    burst: int = Field(ge=1)
    daily_quota: int = Field(ge=1)
    api_key_ids: tuple[str, ...] = ()

    @property
    def interval_us(self) -> int:
        """Time between two requests at the sustained rate, rounded up (never over-admits)."""
        return math.ceil(MICROS / self.rate)

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now the bucket's theoretical arrival time may run: a full burst."""
        return self.burst * self.interval_us

    @property
    def window_s(self) -> int:
        """Seconds an empty bucket takes to fill again (the ``w`` of ``RateLimit-Policy``)."""
        return math.ceil(self.tolerance_us / MICROS)


class BucketState(BaseModel):
    """What the limiter stores per API key.

    ``tat`` is the GCRA theoretical arrival time (µs): the bucket is full when ``tat <= now``,
    and a request is admitted while ``tat + interval <= now + tolerance``. ``quota_day`` /
    ``quota_used`` count the requests admitted on that UTC day.
    """

    model_config = ConfigDict(frozen=True)

    tat: int | None = None
    quota_day: str | None = None
    quota_used: int = 0


class Limit(StrEnum):
    RATE = "rate"
    QUOTA = "quota"


class Verdict(BaseModel):
    """The answer for one request, with what the client is told in its headers."""

    model_config = ConfigDict(frozen=True)

    admitted: bool
    plan: str
    limits: PlanLimits
    remaining: int
    """Requests the bucket would admit right now (after this one, if admitted)."""
    reset_s: int
    """Seconds until the bucket is full again."""
    quota_remaining: int
    retry_after_s: int = 0
    """Seconds to wait before retrying (rejected requests only), rounded up."""
    exceeded: Limit | None = None


class FieldError(CamelModel):
    field: str = Field(description="Where the problem is: `items[0].quantity`, `body`, ...")
    problem: str


class ErrorBody(CamelModel):
    """Every error the API's functions answer with."""

    message: str
    errors: list[FieldError] = Field(default_factory=list)


class GatewayError(BaseModel):
    """What API Gateway itself answers with (missing or invalid API key, unknown route)."""

    message: str


class RateLimited(CamelModel):
    """Body of a 429: which limit was hit and when to come back (also in ``Retry-After``)."""

    message: str
    retry_after: int = Field(description="Seconds to wait, as in the Retry-After header")


SECONDS_PER_DAY = 86_400


class RateStep(StrEnum):
    FULL = "full"
    """The bucket was full (``tat <= now``): ``tat = now + interval``."""
    BUSY = "busy"
    """The bucket has room but is not full: ``tat = tat + interval``."""


class QuotaStep(StrEnum):
    SAME_DAY = "same-day"
    """``quotaUsed + 1``, on condition that it is still today's count and below the quota."""
    NEW_DAY = "new-day"
    """``quotaDay = today, quotaUsed = 1``, on condition that the stored day is another one."""


@dataclass(frozen=True)
class Step:
    """The conditional update that admits one request, as planned from a state."""

    rate: RateStep
    quota: QuotaStep
    now_us: int
    today: str
