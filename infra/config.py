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
from infra.experiments import ChaosConfig
from infra.issuer import IdentityConfig
from infra.observability import AlertsConfig
from infra.payment_webhook import PaymentWebhookConfig
from infra.plans import (
    DEFAULT_API_CLIENTS,
    DEFAULT_PLAN,
    DEFAULT_USAGE_PLANS,
    ApiClientSpec,
    UsagePlanSpec,
)
from infra.polling import PollingConfig
from infra.reconciliation import ReconcilerConfig
from infra.resilience import ResilienceConfig
from infra.sections import ConfigSection, deep_merge
from infra.stock_sharding import StockShardingConfig
from infra.timeouts import SagaTimeouts
from infra.tracing import TracingConfig
from infra.webhook_settings import WebhooksConfig

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

    archive: ArchiveConfig = Field(default_factory=dict, validate_default=True)
    """The bus's event archive (``infra/archive.py``), replayed by ``orderflow replay``;
    context ``orderflow:archive``, e.g. ``{"retention_days": 30}``."""

    bench_stack: bool | None = None
    """Add the benchmark's ``OrderflowBench`` stack to the app (``make bench`` deploys it: the
    baseline API, ``GET /products`` with the application's rate limiting off). Default: every
    stage but prod."""

    # The settings sections (``infra/sections.py``): each defaults per stage
    # (``stage_defaults``), and its context key takes a JSON object (any subset, snake_case
    # keys) merged onto those defaults (``_section_from_stage_and_context``).

    saga_timeouts: SagaTimeouts = Field(default_factory=dict, validate_default=True)
    """The saga's waits and timeouts (``infra/timeouts.py``); context
    ``orderflow:sagaTimeouts``, e.g. ``{"shipment_seconds": 120}``."""

    reconciler: ReconcilerConfig = Field(default_factory=dict, validate_default=True)
    """The reconciler's schedule, lease, grace period, SLA and bound
    (``infra/reconciliation.py``); context ``orderflow:reconciler``, e.g.
    ``{"order_sla_seconds": 900}``."""

    resilience: ResilienceConfig = Field(default_factory=dict, validate_default=True)
    """The payment provider's client, its circuit breaker and the bulkheads
    (``infra/resilience.py``); context ``orderflow:resilience``, e.g.
    ``{"bulkheads": {"account_concurrency": 10}}``."""

    chaos: ChaosConfig = Field(default_factory=dict, validate_default=True)
    """AWS FIS experiment templates from ``chaos/``, with the FIS Lambda extension and its
    configuration bucket (``infra/experiments.py``, ``infra/chaos.py``): off on every stage;
    context ``orderflow:chaos``, e.g. ``{"fis_templates": true}``."""

    tracing: TracingConfig = Field(default_factory=dict, validate_default=True)
    """X-Ray sampling (``infra/tracing.py``): on dev a rule traces every request; on every
    other stage AWS's default rule applies (1/s + 5%); context ``orderflow:tracing``, e.g.
    ``{"sample_everything": true}``."""

    alerts: AlertsConfig = Field(default_factory=dict, validate_default=True)
    """The alarms' periods, thresholds and latency objective, and the alerts inbox
    (``infra/observability.py``): dev judges 1-minute periods and subscribes an SQS inbox to
    the alerts topic; other stages 5-minute periods, 2 of 3; context ``orderflow:alerts``,
    e.g. ``{"latency_objective_seconds": 10}``."""

    identity: IdentityConfig = Field(default_factory=dict, validate_default=True)
    """Customer tokens: issuer, audience, leeway, where the keys are, the dev signing key
    (``infra/issuer.py``, ``infra/identity.py``); context ``orderflow:identity``, e.g.
    ``{"leeway_seconds": 10}``."""
    polling: PollingConfig = Field(default_factory=dict, validate_default=True)
    """Long polling of ``GET /orders/{orderId}?wait=N`` and the caching of ``GET /products``
    (``infra/polling.py``); context ``orderflow:polling``, e.g. ``{"interval_ms": 500}``."""
    webhooks: WebhooksConfig = Field(default_factory=dict, validate_default=True)
    """Outgoing webhooks: retry schedule, attempt timeout, disabling, secret rotation, loopback
    (``infra/webhook_settings.py``): dev retries within seconds and allows loopback URLs;
    context ``orderflow:webhooks``, e.g. ``{"attempt_timeout_seconds": 5}``."""

    payment_webhook: PaymentWebhookConfig = Field(default_factory=dict, validate_default=True)
    """The incoming payment webhook's timestamp tolerance and the sandbox provider's delay
    (``infra/payment_webhook.py``); context ``orderflow:paymentWebhook``, e.g.
    ``{"tolerance_seconds": 60}``."""

    stock_sharding: StockShardingConfig = Field(default_factory=dict, validate_default=True)
    """Write-sharded stock of hot SKUs (``infra/stock_sharding.py``): a SKU the seed marks hot
    gets ``default_shards`` shard items (dev 4, prod 10); context ``orderflow:stockSharding``,
    e.g. ``{"default_shards": 16}``."""

    @field_validator("log_retention_days")
    @classmethod
    def _supported_by_cloudwatch(cls, days: int) -> int:
        if days not in _RETENTION:
            raise ValueError(f"must be one of {sorted(_RETENTION)}")
        return days

    @field_validator("usage_plans", "api_clients", mode="before")
    @classmethod
    def _json_from_context(cls, value: Any) -> Any:
        """``cdk -c orderflow:usagePlans='[...]'`` hands over a string."""
        return json.loads(value) if isinstance(value, str) else value

    @field_validator(
        "archive",
        "saga_timeouts",
        "reconciler",
        "resilience",
        "chaos",
        "tracing",
        "alerts",
        "identity",
        "polling",
        "webhooks",
        "payment_webhook",
        "stock_sharding",
        mode="before",
    )
    @classmethod
    def _section_from_stage_and_context(cls, value: Any, info: ValidationInfo) -> Any:
        """The stage's defaults of a section, with the context's (or the environment's)
        overrides merged in: a JSON object (``cdk -c`` hands over a string) or a dict; an
        instance is taken as it is. Pydantic then validates the result, so an error names the
        field (``resilience.bulkheads.queue_consumer``)."""
        if isinstance(value, ConfigSection):
            return value
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, dict):
            return value  # not an object: refused by the section's validation
        section = cls.model_fields[str(info.field_name)].annotation
        assert isinstance(section, type) and issubclass(section, ConfigSection)
        # no stage when the stage itself was refused: validate the overrides all the same
        stage = info.data.get("stage", "")
        return deep_merge(section.stage_defaults(stage), value)

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
    def has_bench_stack(self) -> bool:
        return self.bench_stack if self.bench_stack is not None else not self.is_production


def _camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.title() for word in rest)
