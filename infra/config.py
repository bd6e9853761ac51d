"""Deployment settings: the one place that knows about stages.

Values come from CDK context (``cdk synth -c orderflow:stage=prod``) first, then from
``ORDERFLOW_*`` environment variables, then from the defaults below. Nothing here knows
whether the target is real AWS or the emulator: the same template deploys to both.
"""

import json
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.archive import ArchiveConfig
from infra.plans import (
    DEFAULT_API_CLIENTS,
    DEFAULT_PLAN,
    DEFAULT_USAGE_PLANS,
    ApiClientSpec,
    UsagePlanSpec,
)
from infra.reconciler_config import ReconcilerConfig
from infra.resilience import ResilienceConfig
from infra.timeouts import SagaTimeouts

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

    usage_plans: tuple[UsagePlanSpec, ...] = DEFAULT_USAGE_PLANS
    """The orders API's usage plans (``infra/plans.py``); context ``orderflow:usagePlans``
    takes a JSON list of ``{name, rate_limit, burst_limit, daily_quota}``."""

    api_clients: tuple[ApiClientSpec, ...] = DEFAULT_API_CLIENTS
    """The API keys the stack creates, each on one plan (``orderflow:apiClients``)."""

    default_plan: str = DEFAULT_PLAN
    """The limiter's plan for a key no plan lists."""

    api_throttle_rate: float = Field(default=500, gt=0)
    """Stage-wide steady rate (requests/s) API Gateway admits across all keys."""

    api_throttle_burst: int = Field(default=1000, ge=1)
    """Stage-wide burst."""

    archive: ArchiveConfig = ArchiveConfig()
    """The bus's event archive (``ArchiveConfig``), replayed by ``orderflow replay``."""

    bench_stack: bool | None = None
    """Add the benchmark's ``OrderflowBench`` stack to the app (``make bench`` deploys it: the
    baseline API, ``GET /products`` with the application's rate limiting off). Default: every
    stage but prod."""

    saga_timeouts: SagaTimeouts = SagaTimeouts()
    """The saga's waits and timeouts (``infra/timeouts.py``); context
    ``orderflow:sagaTimeouts`` takes JSON, e.g. ``{"shipment_seconds": 120}``."""
    reconciler: ReconcilerConfig = ReconcilerConfig()
    """The reconciler's schedule, lease, grace period, SLA and bound (``infra/reconciler_config``;
    context ``orderflow:reconciler`` takes a JSON object)."""
    # --- resilience (issue 9, parts 1 and 2) ---
    resilience: ResilienceConfig = Field(default=None, validate_default=True)
    """The payment provider's client, its circuit breaker and the bulkheads
    (``infra/resilience.py``): the stage's defaults (``ResilienceConfig.for_stage``), with what
    ``orderflow:resilience`` (JSON, any subset) overrides."""

    @field_validator("resilience", mode="before")
    @classmethod
    def _stage_resilience(cls, value: Any, info: ValidationInfo) -> ResilienceConfig:
        return ResilienceConfig.for_stage(info.data.get("stage", "dev"), value)

    # --- end resilience ---

    @field_validator("log_retention_days")
    @classmethod
    def _supported_by_cloudwatch(cls, days: int) -> int:
        if days not in _RETENTION:
            raise ValueError(f"must be one of {sorted(_RETENTION)}")
        return days

    @field_validator("usage_plans", "api_clients", "archive", mode="before")
    @classmethod
    def _json_from_context(cls, value: Any) -> Any:
        """``cdk -c orderflow:usagePlans='[...]'`` hands over a string."""
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _plans_are_consistent(self) -> "DeploymentConfig":
        names = [plan.name for plan in self.usage_plans]
        if not names or len(set(names)) != len(names):
            raise ValueError("usage plans need distinct names, and at least one plan")
        clients = [client.name for client in self.api_clients]
        if len(set(clients)) != len(clients):
            raise ValueError("API clients need distinct names")
        for client in self.api_clients:
            if client.plan not in names:
                raise ValueError(f"client {client.name} names an unknown plan {client.plan}")
        if self.default_plan not in names:
            raise ValueError(f"default plan {self.default_plan} is not a usage plan")
        for plan in self.usage_plans:
            if (
                plan.rate_limit > self.api_throttle_rate
                or plan.burst_limit > self.api_throttle_burst
            ):
                raise ValueError(f"plan {plan.name} allows more than the stage throttle")
        return self

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

    @property
    def archive_retention_days(self) -> int:
        return self.archive.retention_for(self.stage)

    @property
    def has_bench_stack(self) -> bool:
        return self.bench_stack if self.bench_stack is not None else not self.is_production


def _camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.title() for word in rest)
