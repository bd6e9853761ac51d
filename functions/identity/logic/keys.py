"""The stage's signing keys (no I/O): an EC P-256 key pair as a private JWK with its ``kid``,
and the public JWKS published from the private key set.

The private key set is ``{"keys": [<private JWK>, ...]}``, the signing key first: a rotation
puts a new key first and keeps the old one until every token it signed has expired (the
public JWKS then holds both, and verification picks by ``kid``).
"""

import base64
import hashlib
import json
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
"""JWK members that are private (RFC 7518 §6): never published."""
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The key's RFC 7638 thumbprint (SHA-256, base64url): its ``kid``."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def new_signing_key() -> dict[str, Any]:
    """A fresh EC P-256 private JWK: ``kty, crv, x, y, d, kid, alg, use``."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = dict(ECAlgorithm.to_jwk(private, as_dict=True))
    return {**jwk, "kid": thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


def signing_keys(value: str | None) -> list[dict[str, Any]] | None:
    """The private keys a secret value holds, or None if it holds no usable key set (a value
    CloudFormation generated when it created the secret, or nothing)."""
    try:
        parsed = json.loads(value or "")
    except ValueError:
        return None
    keys = parsed.get("keys") if isinstance(parsed, dict) else None
    if not isinstance(keys, list) or not keys:
        return None
    if not all(isinstance(k, dict) and k.get("kid") and k.get("d") for k in keys):
        return None
    return keys


def public_jwks(private_keys: list[dict[str, Any]]) -> dict[str, Any]:
    """The JWKS to publish: each key without its private members."""
    return {
        "keys": [
            {name: value for name, value in key.items() if name not in PRIVATE_MEMBERS}
            for key in private_keys
        ]
    }


class KeyStorage(Protocol):
    def private_value(self) -> str | None: ...

    def save_private(self, private_keys: list[dict[str, Any]]) -> None: ...

    def publish(self, jwks: dict[str, Any]) -> None: ...


def ensure_signing_key(store: KeyStorage) -> tuple[str, bool]:
    """The stage's signing key, made once: an existing key set is kept (a redeploy never
    invalidates the tokens out there), a missing one generated; the public JWKS is published
    again either way. Returns (the signing key's kid, whether it was generated now)."""
    keys = signing_keys(store.private_value())
    created = keys is None
    if keys is None:
        keys = [new_signing_key()]
        store.save_private(keys)
    store.publish(public_jwks(keys))
    return str(keys[0]["kid"]), created
