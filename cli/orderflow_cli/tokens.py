"""Customer tokens minted with a stage's dev signing key: ``orderflow token --customer c-1``,
and the one place every program that calls the API as a customer gets its token from (the
integration tests, the benchmarks, the chaos load).

The stage's outputs name the issuer, the audience and the dev signing key's secret (its name:
the key is read from Secrets Manager when a token is minted, and never printed). A stage
without a dev signing key (``identity.dev_signing_key`` off: tokens come from its identity
provider) has no ``DevSigningKeySecretName`` output, and minting is refused with a clear
error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import boto3
import jwt
import typer
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from orderflow_cli.stack import fail, stack_of

SECRET_OUTPUT = "DevSigningKeySecretName"
ISSUER_OUTPUT = "IdentityIssuer"
AUDIENCE_OUTPUT = "IdentityAudience"
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 24 * 3600


class NoDevSigningKey(Exception):
    """The stage mints no tokens itself (no dev signing key)."""


def mint(
    private_key_set: Mapping[str, Any],
    *,
    customer: str,
    issuer: str,
    audience: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A compact JWS (ES256) for ``customer`` (``sub``), signed with the set's first key (the
    signing key; the others are kept while a rotation lets their tokens expire)."""
    signing = private_key_set["keys"][0]
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": customer,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
    }
    key = ECAlgorithm.from_jwk(json.dumps(signing))
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise NoDevSigningKey("the signing key has no private part")
    return jwt.encode(
        claims, key, algorithm=signing.get("alg", "ES256"), headers={"kid": signing["kid"]}
    )


@dataclass(frozen=True)
class StageIssuer:
    """A deployed stage's dev issuer: mints tokens for any customer of that stage."""

    secret_name: str
    issuer: str
    audience: str
    secrets: Any = None
    _key_set: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str], secrets: Any = None) -> StageIssuer:
        if SECRET_OUTPUT not in outputs:
            raise NoDevSigningKey(
                "this stage has no dev signing key (identity.dev_signing_key is off): its "
                "customer tokens come from its identity provider"
            )
        return cls(
            outputs[SECRET_OUTPUT], outputs[ISSUER_OUTPUT], outputs[AUDIENCE_OUTPUT], secrets
        )

    def private_key_set(self) -> dict[str, Any]:
        """The stage's private key set, read once per issuer object (never printed)."""
        if self._key_set:
            return self._key_set
        client = self.secrets or boto3.client("secretsmanager")
        value = client.get_secret_value(SecretId=self.secret_name)["SecretString"]
        try:
            key_set = json.loads(value)
        except ValueError:
            key_set = None
        if not isinstance(key_set, dict) or not key_set.get("keys"):
            raise NoDevSigningKey(
                f"secret {self.secret_name} holds no signing key yet: its custom resource has "
                "not run (`make deploy` runs it on the emulator)"
            )
        self._key_set.update(key_set)
        return key_set

    def token(self, customer: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        return mint(
            self.private_key_set(),
            customer=customer,
            issuer=self.issuer,
            audience=self.audience,
            ttl_seconds=ttl_seconds,
        )


def register(app: typer.Typer) -> None:
    @app.command("token")
    def token(
        ctx: typer.Context,
        customer: Annotated[
            str, typer.Option("--customer", help="The customer the token names (its sub).")
        ],
        ttl: Annotated[
            int,
            typer.Option(
                "--ttl", min=1, max=MAX_TTL_SECONDS, help="Seconds until the token expires."
            ),
        ] = DEFAULT_TTL_SECONDS,
    ) -> None:
        """Mint a customer token with the stage's dev signing key and print it, for
        `curl -H "Authorization: Bearer $(orderflow token --customer c-1)" ...`."""
        stack = stack_of(ctx)
        try:
            StageIssuer.from_outputs(stack.outputs)  # no dev key: refused before any AWS call
            issuer = StageIssuer.from_outputs(stack.outputs, stack.client("secretsmanager"))
            minted = issuer.token(customer, ttl)
        except NoDevSigningKey as error:
            fail(str(error))
        typer.echo(minted)
