"""Identity data access: the signing key secret and the published JWKS parameter."""

from functools import cache

from identity.dal.keys import KeyStore
from identity.settings import get_settings


@cache
def get_key_store() -> KeyStore:
    settings = get_settings()
    assert settings.signing_key_secret_name is not None, "this stage has no dev signing key"
    return KeyStore(settings.signing_key_secret_name, settings.jwks_parameter)


def reset() -> None:
    for factory in (get_settings, get_key_store):
        factory.cache_clear()


__all__ = ["KeyStore", "get_key_store", "reset"]
