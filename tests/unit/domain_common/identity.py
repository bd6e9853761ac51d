"""Customer tokens in unit tests: a test issuer whose key set is published to moto's SSM the
way the stage's custom resource publishes it, and tokens minted with the CLI's minting code
(``orderflow_cli.tokens``, the one the integration tests, the bench and the CLI use)."""

from typing import Any

import boto3
import jwt

from identity.logic.keys import new_signing_key, public_jwks
from orderflow_cli.tokens import mint

ISSUER = "https://orderflow.dev/test"
AUDIENCE = "orderflow-api"
JWKS_PARAMETER = "/orderflow/test/identity/jwks"
IDENTITY_ENV = {
    "IDENTITY_ISSUER": ISSUER,
    "IDENTITY_AUDIENCE": AUDIENCE,
    "IDENTITY_JWKS_PARAMETER": JWKS_PARAMETER,
    "IDENTITY_LEEWAY_SECONDS": "30",
}
SIGNING_KEYS: dict[str, Any] = {"keys": [new_signing_key()]}
"""The test issuer's private key set (made once per session)."""


def publish_jwks(private_keys: dict[str, Any] = SIGNING_KEYS) -> None:
    """The public half of ``private_keys`` in the JWKS parameter (moto must be running)."""
    import json

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=JWKS_PARAMETER,
        Value=json.dumps(public_jwks(private_keys["keys"])),
        Type="String",
        Overwrite=True,
    )


def token(customer: str, **kwargs: Any) -> str:
    return mint(SIGNING_KEYS, customer=customer, issuer=ISSUER, audience=AUDIENCE, **kwargs)


def bearer(customer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(customer)}"}


def forge(claims: dict[str, Any], *, key: Any = None, headers: dict[str, Any] | None = None) -> str:
    """A token with exactly ``claims``, signed with the test issuer's key unless ``key``."""
    signing = SIGNING_KEYS["keys"][0]
    if key is None:
        key = jwt.algorithms.ECAlgorithm.from_jwk(signing)
    return jwt.encode(
        claims, key, algorithm="ES256", headers={"kid": signing["kid"], **(headers or {})}
    )
