"""Customer identity on the deployed API: customer tokens verified by the edge of the orders
functions (401 for each way a token can be wrong), the customer taken from the token's `sub`,
another customer's order answered like an unknown one (BOLA), the stage's public JWKS, and
`orderflow token`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from typer.testing import CliRunner

from emulator.clients import REGION, endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.main import app
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, request

ROOT = Path(__file__).resolve().parents[2]
CLI_ENV = {
    "AWS_ENDPOINT_URL": endpoint(),
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}
"""What an operator's shell has for the emulator (`make` exports the same)."""
ORDER = {"items": [{"sku": "SKU-STK-004", "quantity": 1}], "paymentToken": "tok_ok"}


@pytest.fixture(scope="module")
def url(outputs: dict[str, str]) -> str:
    return local_api_url(outputs["OrdersApiId"])


@pytest.fixture(scope="module")
def api(url: str, api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(url, api_keys["premium"], f"it-identity-{uuid.uuid4().hex[:8]}", stage_issuer)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        (b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature))
    )


def claims(issuer: StageIssuer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "it-attacker",
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(issuer: StageIssuer, payload: dict[str, Any], key: Any = None) -> str:
    signing = issuer.private_key_set()["keys"][0]
    key = key or ECAlgorithm.from_jwk(json.dumps(signing))
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": signing["kid"]})


def forged_tokens(issuer: StageIssuer) -> dict[str, tuple[str | None, str]]:
    """Each bad token, with a word the 401's description must contain."""
    kid = issuer.private_key_set()["keys"][0]["kid"]
    now = int(time.time())
    other_key = ec.generate_private_key(ec.SECP256R1())
    private = ECAlgorithm.from_jwk(json.dumps(issuer.private_key_set()["keys"][0]))
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    hs_signing_input = ".".join(
        (b64(json.dumps(hs_header).encode()), b64(json.dumps(claims(issuer)).encode()))
    )
    hs_token = (
        hs_signing_input
        + "."
        + b64(hmac.new(public_pem, hs_signing_input.encode(), hashlib.sha256).digest())
    )
    return {
        "missing": (None, "missing"),
        "malformed": ("not-a-jwt", "malformed"),
        "expired": (signed(issuer, claims(issuer, iat=now - 7200, exp=now - 3600)), "expired"),
        "wrong signature": (signed(issuer, claims(issuer), key=other_key), "signature"),
        "wrong issuer": (signed(issuer, claims(issuer, iss="https://evil.example/")), "issuer"),
        "wrong audience": (signed(issuer, claims(issuer, aud="someone-else")), "audience"),
        "alg none": (unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims(issuer)), "none"),
        "HS256 with the public key": (hs_token, "HS256"),
        "no sub": (signed(issuer, claims(issuer, sub=None)), "sub"),
    }


CASES = [
    "missing",
    "malformed",
    "expired",
    "wrong signature",
    "wrong issuer",
    "wrong audience",
    "alg none",
    "HS256 with the public key",
    "no sub",
]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_customer_token_is_a_401_saying_why(
    api: KeyedApi, stage_issuer: StageIssuer, case: str
) -> None:
    token, word = forged_tokens(stage_issuer)[case]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for method, path, body in [
        ("POST", "/orders", ORDER),
        ("GET", f"/orders/{uuid.uuid4()}", None),
    ]:
        answer = api.as_customer(None).request(method, path, body, headers=headers)
        assert answer.status == 401, (case, answer)
        assert word.lower() in answer.body["message"].lower(), answer.body
        assert answer.body["errors"][0]["field"] == "Authorization"
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="orderflow"')
        if token is not None:
            assert 'error="invalid_token"' in challenge
            assert "error_description=" in challenge
        # the client's plan still counts the request
        assert answer.headers["X-RateLimit-Plan"] == "premium"


def test_the_customer_is_the_token_sub_and_another_customer_sees_404(api: KeyedApi) -> None:
    # When a customer places an order
    placed = api.request("POST", "/orders", ORDER)
    assert placed.status == 202, placed.body
    order_id = placed.body["orderId"]
    # Then the order is theirs (the token's sub)
    mine = eventually(lambda: _found(api, order_id), timeout_s=30)
    assert mine["customerId"] == api.customer
    # And another customer of the same client gets exactly what an unknown order gets
    other = api.as_customer(f"it-other-{uuid.uuid4().hex[:8]}")
    theirs = other.request("GET", f"/orders/{order_id}")
    unknown_id = str(uuid.uuid4())
    unknown = other.request("GET", f"/orders/{unknown_id}")
    assert (theirs.status, unknown.status) == (404, 404)
    assert theirs.body == {"message": f"order {order_id} not found", "errors": []}
    assert unknown.body == {"message": f"order {unknown_id} not found", "errors": []}
    assert sorted(theirs.headers.keys()) == sorted(unknown.headers.keys())


def _found(api: KeyedApi, order_id: str) -> dict[str, Any] | None:
    answer = api.request("GET", f"/orders/{order_id}")
    return answer.body if answer.status == 200 else None


def test_a_customer_id_in_the_body_is_refused(api: KeyedApi) -> None:
    answer = api.request("POST", "/orders", {**ORDER, "customerId": "someone-else"})
    assert answer.status == 400
    assert [e["field"] for e in answer.body["errors"]] == ["customerId"]


def test_the_stage_publishes_its_public_keys_without_an_api_key(
    url: str, stage_issuer: StageIssuer
) -> None:
    answer = request("GET", f"{url}/.well-known/jwks.json")
    assert answer.status == 200, answer
    assert answer.headers["Cache-Control"].startswith("public, max-age=")
    signing = stage_issuer.private_key_set()["keys"][0]
    [published] = answer.body["keys"]
    assert published["kid"] == signing["kid"]
    assert (published["kty"], published["crv"], published["alg"]) == ("EC", "P-256", "ES256")
    assert "d" not in published
    # the published key verifies a minted token
    token = stage_issuer.token("it-jwks")
    key = jwt.PyJWK(published).key
    decoded = jwt.decode(token, key, algorithms=["ES256"], audience=stage_issuer.audience)
    assert decoded["sub"] == "it-jwks"


def test_orderflow_token_mints_a_token_the_api_accepts(
    api: KeyedApi, outputs: dict[str, str]
) -> None:
    del outputs  # deployed: outputs.json is current
    outputs_file = ROOT / "outputs.json"
    result = CliRunner(env=CLI_ENV).invoke(
        app, ["--outputs", str(outputs_file), "token", "--customer", "it-cli", "--ttl", "120"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "it-cli"
    answer = api.as_customer(None).request(
        "GET", f"/orders/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 404  # authenticated: an unknown order, not a 401
