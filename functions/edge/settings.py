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


class IdentitySettings(BaseSettings):
    """Customer tokens (``edge.identity``), for the functions whose routes need one:
    ``IDENTITY_ISSUER``, ``IDENTITY_AUDIENCE``, ``IDENTITY_LEEWAY_SECONDS``, and where the
    issuer's public keys are: ``IDENTITY_JWKS_PARAMETER`` (the stage's own JWKS, an SSM
    parameter) or ``IDENTITY_JWKS_URL`` (an external issuer's), exactly one;
    ``IDENTITY_JWKS_MAX_AGE_SECONDS``, how long the key set is cached."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", frozen=True)

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwks_parameter: str | None = None
    jwks_url: str | None = None
    jwks_max_age_seconds: int = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> "IdentitySettings":
        if (self.jwks_parameter is None) == (self.jwks_url is None):
            raise ValueError("exactly one of IDENTITY_JWKS_PARAMETER, IDENTITY_JWKS_URL is needed")
        return self


@cache
def get_identity_settings() -> IdentitySettings:
    return IdentitySettings()
