"""The identity service's environment, validated once per execution environment."""

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    """``JWKS_PARAMETER``: the SSM parameter the stage's public JWKS is published in;
    ``SIGNING_KEY_SECRET_NAME``: the secret holding the dev signing key (its name, never its
    value; the key function only)."""

    model_config = SettingsConfigDict(frozen=True)

    jwks_parameter: str
    signing_key_secret_name: str | None = None


@cache
def get_settings() -> IdentitySettings:
    return IdentitySettings()
