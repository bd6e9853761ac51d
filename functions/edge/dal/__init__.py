"""Edge data access, and the per-execution-environment instances the edge uses."""

from functools import cache

from edge.dal.buckets import BucketStore
from edge.dal.keys import ParameterKeys, UrlKeys
from edge.settings import get_identity_settings, get_settings


@cache
def get_bucket_store() -> BucketStore:
    table = get_settings().rate_limit_table
    assert table is not None, "rate limiting is off: there is no bucket table"
    return BucketStore(table)


@cache
def get_signing_keys() -> ParameterKeys | UrlKeys:
    """The issuer's public keys: the stage's own JWKS parameter, or an external JWKS URL."""
    settings = get_identity_settings()
    if settings.jwks_url is not None:
        return UrlKeys(settings.jwks_url, max_age=settings.jwks_max_age_seconds)
    assert settings.jwks_parameter is not None
    return ParameterKeys(settings.jwks_parameter, max_age=settings.jwks_max_age_seconds)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (get_settings, get_bucket_store, get_identity_settings, get_signing_keys):
        factory.cache_clear()


__all__ = [
    "BucketStore",
    "ParameterKeys",
    "UrlKeys",
    "get_bucket_store",
    "get_signing_keys",
    "reset",
]
