"""Environment of the webhooks functions (``WEBHOOK_*``), read once; infra sets every one
from ``DeploymentConfig.webhooks`` (``infra/webhook_settings.py``). Names, never values: the
signing secrets are in Secrets Manager under ``WEBHOOK_SECRET_PREFIX/<subscriptionId>``."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from webhooks.models import RetrySchedule


class WebhooksSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_prefix="WEBHOOK_")

    subscriptions_table: str
    """WEBHOOK_SUBSCRIPTIONS_TABLE: the subscriptions (metadata only)."""
    deliveries_table: str
    """WEBHOOK_DELIVERIES_TABLE: the attempt log and the messages (for redelivery)."""
    delivery_queue_url: str
    """WEBHOOK_DELIVERY_QUEUE_URL: one message per (event, subscription, attempt)."""
    dlq_url: str
    """WEBHOOK_DLQ_URL: messages whose attempts are exhausted, with the reason."""
    secret_prefix: str
    """WEBHOOK_SECRET_PREFIX: ``orderflow/<stage>/webhooks``."""
    fan_out_rule_arn: str
    """WEBHOOK_FAN_OUT_RULE_ARN: the bus rule feeding the fan-out, enabled only while a
    subscription is (``logic/gate.py``)."""
    event_types: tuple[str, ...] = ()
    """WEBHOOK_EVENT_TYPES (JSON list): the types a subscription may name (infra takes them
    from the services' ``events.py`` through ``infra/contracts.py``)."""
    redacted_fields: tuple[str, ...] = ()
    """WEBHOOK_REDACTED_FIELDS (JSON list): event data fields never delivered."""
    allow_loopback: bool = False
    attempt_timeout_seconds: float = Field(default=10, gt=0)
    retry_schedule: RetrySchedule = RetrySchedule(
        base_seconds=60, factor=4, max_delay_seconds=6 * 3600, max_attempts=8
    )
    disable_after_failures: int = Field(default=20, ge=1)
    rotation_overlap_seconds: int = Field(default=86_400, ge=0)
    secret_cache_seconds: int = Field(default=300, ge=0)
    attempt_log_days: int = Field(default=30, ge=1)


@cache
def get_settings() -> WebhooksSettings:
    return WebhooksSettings()
