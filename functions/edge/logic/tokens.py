"""Customer tokens: a JWT from ``Authorization: Bearer <token>``, verified (no I/O: the keys are
looked up through the port passed in).

A token is accepted only if all of these hold, and rejected with one ``TokenRejected`` naming
what failed otherwise:

- its header's ``alg`` is one of ``ALGORITHMS`` (asymmetric: never ``none``, never ``HS*``, so
  a token "signed" with the public key as an HMAC secret is refused before any key is used);
- its ``kid`` names a key of the issuer's JWKS (a key set may hold several keys while one is
  rotated out), and that key signs with the token's ``alg`` (its own ``alg``, or the one its
  type implies: an EC P-256 key ES256, an RSA key RS256);
- the signature verifies with that key;
- ``iss`` is the stage's issuer, ``aud`` holds the stage's audience;
- ``exp``, ``iat`` and ``sub`` are present; ``exp``, ``nbf`` and ``iat`` hold within ``leeway``;
- ``sub`` (the customer id) is an ``Identifier``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from pydantic import TypeAdapter, ValidationError

from shared_kernel.models import Identifier

ALGORITHMS = ("ES256", "RS256")
"""ES256 for the stage's own keys; RS256 for external issuers (Cognito signs with it)."""

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
BEARER = "bearer"
_CUSTOMER_ID = TypeAdapter(Identifier)


class TokenRejected(Exception):
    """Why a request's customer token is not accepted (said to the client: no secret in it).

    ``missing`` is true when the request carries no token at all (RFC 6750: the answer then
    names no error code)."""

    def __init__(self, description: str, *, missing: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.missing = missing


class SigningKeys(Protocol):
    """The issuer's public keys."""

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid`` names, None if the issuer has none of that id."""
        ...


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str
    leeway_seconds: int


def bearer_token(headers: Mapping[str, str] | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (any case)."""
    value = next(
        (v for k, v in (headers or {}).items() if k.lower() == "authorization" and v), None
    )
    if value is None:
        raise TokenRejected(
            "missing customer token: send Authorization: Bearer <JWT>", missing=True
        )
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        raise TokenRejected("the Authorization header must be: Bearer <JWT>")
    return token.strip()


def verify(token: str, keys: SigningKeys, policy: TokenPolicy) -> dict[str, Any]:
    """The token's claims, once every check of the module's list passed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise TokenRejected(
            f"token algorithm {algorithm!r} is not accepted (accepted: {', '.join(ALGORITHMS)})"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("the token's header has no kid (key id)")
    key = keys.key(kid)
    if key is None:
        raise TokenRejected(f"unknown signing key {kid!r}")
    if key.algorithm_name != algorithm:
        raise TokenRejected(f"key {kid!r} does not sign with {algorithm}")
    claims = _decode(token, key, algorithm, policy)
    try:
        _CUSTOMER_ID.validate_python(claims["sub"])
    except ValidationError as exc:
        raise TokenRejected("token sub is not a valid customer id") from exc
    return claims


# What PyJWT's errors mean to the client, most specific first (they subclass one another).
_DECODE_ERRORS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet (nbf or iat in the future)"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
    (jwt.InvalidIssuerError, "token issuer is not {issuer}"),
    (jwt.InvalidAudienceError, "token audience is not {audience}"),
)


def _decode(token: str, key: jwt.PyJWK, algorithm: str, policy: TokenPolicy) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=policy.audience,
            issuer=policy.issuer,
            leeway=policy.leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected(f"token has no {exc.claim} claim") from exc
    except jwt.InvalidTokenError as exc:
        for error, problem in _DECODE_ERRORS:
            if isinstance(exc, error):
                raise TokenRejected(
                    problem.format(issuer=policy.issuer, audience=policy.audience)
                ) from exc
        raise TokenRejected(f"invalid token: {exc}") from exc
    return claims
