"""Deployment settings: the one place that knows about stages.

Values come from CDK context (``cdk synth -c orderflow:stage=prod``) first, then from
``ORDERFLOW_*`` environment variables, then from the defaults below. Nothing here knows
whether the target is real AWS or the emulator: the same template deploys to both.
"""

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CONTEXT_PREFIX = "orderflow:"

# CloudWatch accepts only these retention periods; the config maps days to CDK's enum.
_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class DeploymentConfig(BaseSettings):
    """Settings of one deployment (a stage) of orderflow."""

    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", frozen=True)

    stage: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    """Suffix of the named resources (the event bus is ``orderflow-<stage>``)."""

    log_retention_days: int = 14
    """How long Lambda log groups keep their logs: 1, 3, 7, 14, 30, 90 or 365."""

    @field_validator("log_retention_days")
    @classmethod
    def _supported_by_cloudwatch(cls, days: int) -> int:
        if days not in _RETENTION:
            raise ValueError(f"must be one of {sorted(_RETENTION)}")
        return days

    @classmethod
    def from_context(cls, node: Node) -> "DeploymentConfig":
        """Build the config from ``orderflow:*`` context keys, falling back to the environment.

        Context keys are the field names in camelCase: ``orderflow:stage``,
        ``orderflow:logRetentionDays``.
        """
        overrides: dict[str, Any] = {}
        for field in cls.model_fields:
            value = node.try_get_context(CONTEXT_PREFIX + _camel_case(field))
            if value is not None:
                overrides[field] = value
        return cls(**overrides)

    @property
    def is_production(self) -> bool:
        return self.stage == "prod"

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Keep stateful resources (tables, logs) in prod; delete them with any other stage."""
        return RemovalPolicy.RETAIN if self.is_production else RemovalPolicy.DESTROY

    @property
    def point_in_time_recovery(self) -> bool:
        """Continuous backups of the domain tables: prod only (they cost per GB)."""
        return self.is_production

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def bus_name(self) -> str:
        return f"orderflow-{self.stage}"


def _camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.title() for word in rest)
