"""Outgoing webhooks' numbers (``DeploymentConfig.webhooks``; context ``orderflow:webhooks``,
e.g. ``{"attempt_timeout_seconds": 5}``), per stage:

| setting                    | dev                         | other stages                     |
|----------------------------|-----------------------------|----------------------------------|
| retry schedule             | 2 s x 5^(n-1), cap 60 s, 5  | 60 s x 4^(n-1), cap 6 h, 8       |
| attempt_timeout_seconds    | 3                           | 10                               |
| disable_after_failures     | 5                           | 20                               |
| rotation_overlap_seconds   | 300                         | 86 400 (a day)                   |
| allow_loopback             | true                        | false                            |

- **Retry schedule**: retry ``n`` waits ``uniform(0, min(max, base * factor^(n-1)))`` (full
  jitter). dev: the 1st retry within 2 s, the 2nd within 10 s, then 50 s and 60 s, 5 attempts
  in all (the tests watch retries come, in seconds). Other stages: 1, 4, 16, 64 minutes,
  then 4.3 h and 6 h caps, 8 attempts over up to ~18 h: a subscriber's outage of hours is
  ridden out, and many failed messages do not come back in one wave.
- **Attempt timeout**: a receiver should answer at once and work later (Standard Webhooks'
  advice); 10 s is generous. dev: 3 s, so the slow-subscriber test is quick.
- **Disable after**: consecutive failed attempts, over every message, that disable the
  subscription (it is re-enabled by ``POST /webhooks/{id}/enable``). 20 at the prod schedule is
  hours of failure; dev's 5 is one exhausted message.
- **Rotation overlap**: how long the previous secret keeps signing after a rotation.
- **Loopback**: ``http://127.0.0.1``/``localhost`` destinations; on the emulator functions run
  as host processes, so loopback is the machine the tests' receiver runs on. Never elsewhere.
"""

from typing import Any

from pydantic import Field, model_validator

from infra.sections import ConfigSection

LOOPBACK_STAGES = ("dev",)


class RetryScheduleConfig(ConfigSection):
    """Exponential backoff with full jitter (``functions/webhooks/logic/backoff.py``)."""

    base_seconds: float = Field(default=60, gt=0)
    factor: float = Field(default=4, ge=1)
    max_delay_seconds: float = Field(default=6 * 3600, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=100)


class WebhooksConfig(ConfigSection):
    """Outgoing webhooks (see the module's table)."""

    retry: RetryScheduleConfig = RetryScheduleConfig()
    attempt_timeout_seconds: float = Field(default=10, gt=0, le=60)
    disable_after_failures: int = Field(default=20, ge=1)
    rotation_overlap_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    allow_loopback: bool = False
    secret_cache_seconds: int = Field(default=300, ge=0)
    """How long a deliverer keeps a secret in memory (a rotation is seen at once anyway: the
    subscription's ``secretVersion`` tells it to read again)."""
    attempt_log_days: int = Field(default=30, ge=1, le=365)
    """How long the attempt log and the messages (for redelivery) are kept."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        if stage in LOOPBACK_STAGES:
            return {
                "retry": {
                    "base_seconds": 2,
                    "factor": 5,
                    "max_delay_seconds": 60,
                    "max_attempts": 5,
                },
                "attempt_timeout_seconds": 3,
                "disable_after_failures": 5,
                "rotation_overlap_seconds": 300,
                "allow_loopback": True,
                "attempt_log_days": 7,
            }
        return {}

    @model_validator(mode="after")
    def _fits_the_deliverer(self) -> "WebhooksConfig":
        if self.retry.base_seconds > self.retry.max_delay_seconds:
            raise ValueError("retry.base_seconds must not exceed retry.max_delay_seconds")
        return self

    @property
    def deliverer_timeout_seconds(self) -> int:
        """The deliverer's function timeout: a batch's attempts run at once, so one attempt
        timeout, plus the bookkeeping."""
        return int(self.attempt_timeout_seconds) + 20
