"""Who issues a stage's customer tokens and how the API functions check them
(``DeploymentConfig.identity``); the construct is ``infra/identity.py``, whose module doc says
where the keys come from. Per-stage defaults: the issuer ``https://orderflow.dev/<stage>``; on
dev the stage generates its own signing key (``dev_signing_key``), elsewhere none (set
``jwks_url`` to the identity provider's JWKS, or publish keys in the stage's JWKS parameter).
"""

from typing import Any

from pydantic import Field, model_validator

from infra.sections import ConfigSection

DEV_STAGE = "dev"


class IdentityConfig(ConfigSection):
    """Who issues the stage's customer tokens and how they are checked (see the module doc)."""

    issuer: str = Field(pattern=r"^https://\S+$")
    """The tokens' ``iss``; the stage's own: ``https://orderflow.dev/<stage>``."""

    audience: str = Field(default="orderflow-api", min_length=1)
    """The tokens' ``aud`` must hold it."""

    jwks_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    """An external issuer's JWKS; none: the stage's own JWKS parameter."""

    leeway_seconds: int = Field(default=30, ge=0, le=300)
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""

    jwks_max_age_seconds: int = Field(default=300, ge=0, le=3600)
    """How long a function caches the key set (an unknown ``kid`` fetches it again sooner)."""

    dev_signing_key: bool = False
    """Generate the stage's own signing key (dev's default), for ``orderflow token``."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        defaults: dict[str, Any] = {"issuer": f"https://orderflow.dev/{stage}"}
        if stage == DEV_STAGE:
            defaults["dev_signing_key"] = True
        return defaults

    @model_validator(mode="after")
    def _one_key_source(self) -> "IdentityConfig":
        if self.dev_signing_key and self.jwks_url is not None:
            raise ValueError("dev_signing_key and jwks_url exclude each other: which keys verify?")
        return self
