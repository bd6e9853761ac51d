"""Where the issuer's public keys come from: the stage's own JWKS (an SSM parameter, written by
the dev signing key's custom resource) or an external issuer's JWKS URL. Both cache the key
set and fetch it again, at most once per ``REFRESH_COOLDOWN_SECONDS``, when a token names a
key they do not know (a key added by a rotation is taken up at once, and a flood of made-up
``kid``s costs at most one fetch per cool-down)."""

import json
import time
from collections.abc import Callable

import jwt
from aws_lambda_powertools.utilities import parameters

REFRESH_COOLDOWN_SECONDS = 30
EMPTY_JWKS = '{"keys": []}'


class ParameterKeys:
    """The JWKS held in the SSM parameter ``name`` (Powertools Parameters, cached ``max_age``
    seconds)."""

    def __init__(
        self, name: str, *, max_age: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._name = name
        self._max_age = max_age
        self._clock = clock
        self._refreshed_at: float | None = None

    def jwks(self, *, force: bool = False) -> dict[str, object]:
        """The key set as published (public keys only)."""
        value = parameters.get_parameter(self._name, max_age=self._max_age, force_fetch=force)
        parsed = json.loads(str(value or EMPTY_JWKS))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("keys"), list):
            raise ValueError(f"parameter {self._name} is not a JWKS")
        return parsed

    def key(self, kid: str) -> jwt.PyJWK | None:
        found = _find(self.jwks(), kid)
        if found is None and self._may_refresh():
            found = _find(self.jwks(force=True), kid)
        return found

    def _may_refresh(self) -> bool:
        now = self._clock()
        if self._refreshed_at is not None and now - self._refreshed_at < REFRESH_COOLDOWN_SECONDS:
            return False
        self._refreshed_at = now
        return True


class UrlKeys:
    """An external issuer's JWKS URL (``PyJWKClient``: the set cached ``max_age`` seconds,
    fetched again for an unknown ``kid`` after a cool-down)."""

    def __init__(self, url: str, *, max_age: int) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_jwk_set=True, lifespan=max_age, cooldown_duration=REFRESH_COOLDOWN_SECONDS
        )

    def key(self, kid: str) -> jwt.PyJWK | None:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise  # the issuer is unreachable: our fault (5xx), not the token's
        except jwt.PyJWKClientError:
            return None


def _find(jwks: dict[str, object], kid: str) -> jwt.PyJWK | None:
    try:
        key_set = jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWKSetError:  # no usable key (an empty set: no key published yet)
        return None
    for key in key_set.keys:
        if key.key_id == kid:
            return key
    return None
