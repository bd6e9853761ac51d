"""The edge's environment, validated once per execution environment."""

from functools import cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.models import PlanLimits


class EdgeSettings(BaseSettings):
    """``RATE_LIMIT_ENABLED`` (default true), ``RATE_LIMIT_TABLE``, ``RATE_LIMIT_PLANS`` (JSON
    ``{plan: {rate, burst, dailyQuota, apiKeyIds}}``, written by the stack from the same plan
    settings as the usage plans) and ``RATE_LIMIT_DEFAULT_PLAN`` (the plan of a key that no plan
    lists). With limiting off (the benchmark's baseline function) nothing else is needed."""

    model_config = SettingsConfigDict(frozen=True)

    rate_limit_enabled: bool = True
    rate_limit_table: str | None = None
    rate_limit_plans: dict[str, PlanLimits] = Field(default_factory=dict)
    rate_limit_default_plan: str | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> "EdgeSettings":
        if not self.rate_limit_enabled:
            return self
        if not self.rate_limit_table:
            raise ValueError("RATE_LIMIT_TABLE is required when rate limiting is enabled")
        if self.rate_limit_default_plan not in self.rate_limit_plans:
            raise ValueError("RATE_LIMIT_DEFAULT_PLAN must name one of RATE_LIMIT_PLANS")
        return self

    def plan_of(self, api_key_id: str) -> str:
        """The plan that lists ``api_key_id``, else the default plan."""
        for name, plan in self.rate_limit_plans.items():
            if api_key_id in plan.api_key_ids:
                return name
        assert self.rate_limit_default_plan is not None
        return self.rate_limit_default_plan


@cache
def get_settings() -> EdgeSettings:
    return EdgeSettings()
