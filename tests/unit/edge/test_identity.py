"""Customer tokens at the edge: each way a token can be wrong is a 401 saying why; a valid one
puts its `sub` where the route reads the customer."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from edge.dal.keys import ParameterKeys
from edge.http import api_resolver
from edge.identity import customer_id
from edge.logic.tokens import TokenPolicy, TokenRejected, bearer_token, verify
from edge.middleware import api_handler
from identity.logic.keys import new_signing_key, public_jwks
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import PREMIUM_KEY_ID
from tests.unit.domain_common.identity import (
    AUDIENCE,
    ISSUER,
    JWKS_PARAMETER,
    SIGNING_KEYS,
    forge,
    publish_jwks,
    token,
)

POLICY = TokenPolicy(ISSUER, AUDIENCE, 30)
SIGNING = SIGNING_KEYS["keys"][0]


class Keys:
    """The issuer's JWKS, in memory."""

    def __init__(self, jwks: dict) -> None:
        self.set = jwt.PyJWKSet.from_dict(jwks)

    def key(self, kid: str) -> jwt.PyJWK | None:
        return next((k for k in self.set.keys if k.key_id == kid), None)


KEYS = Keys(public_jwks(SIGNING_KEYS["keys"]))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes) -> dict:
    """Valid claims, changed as asked. They expire in a day: the rejected cases below are
    forged when the module is collected, and a slow suite must not see them expire first."""
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "customer-1", "iat": now, "exp": now + 86400}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def hs256_with_public_key() -> str:
    """The algorithm-confusion attack: HS256 "signed" with the issuer's public key (PEM)."""
    private = ECAlgorithm.from_jwk(SIGNING)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": SIGNING["kid"]}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def alg_none() -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": SIGNING["kid"]}).encode())
    return f"{header}.{b64(json.dumps(claims()).encode())}."


NOW = int(time.time())
REJECTED = [
    pytest.param("not-a-jwt", "malformed", id="malformed"),
    pytest.param(forge(claims(iat=NOW - 7200, exp=NOW - 3600)), "expired", id="expired"),
    pytest.param(
        forge(claims(), key=ec.generate_private_key(ec.SECP256R1())), "signature", id="signature"
    ),
    pytest.param(forge(claims(iss="https://evil.example/")), "issuer", id="wrong issuer"),
    pytest.param(forge(claims(aud="another-api")), "audience", id="wrong audience"),
    pytest.param(alg_none(), "'none' is not accepted", id="alg none"),
    pytest.param(hs256_with_public_key(), "'HS256' is not accepted", id="HS256 confusion"),
    pytest.param(forge(claims(nbf=NOW + 3600)), "not valid yet", id="not before"),
    pytest.param(forge(claims(iat=NOW + 3600)), "not valid yet", id="issued in the future"),
    pytest.param(forge(claims(sub=None)), "no sub", id="no sub"),
    pytest.param(forge(claims(exp=None)), "no exp", id="no exp"),
    pytest.param(forge(claims(sub="bad sub\n")), "sub is not a valid", id="sub not an id"),
    pytest.param(forge(claims(), headers={"kid": "unknown"}), "unknown signing key", id="kid"),
]


@pytest.mark.parametrize(("bad", "problem"), REJECTED)
def test_a_bad_token_is_rejected_saying_why(bad: str, problem: str) -> None:
    with pytest.raises(TokenRejected) as rejected:
        verify(bad, KEYS, POLICY)
    assert problem in rejected.value.description
    assert not rejected.value.missing


def test_an_rs256_key_cannot_verify_an_es256_token_of_the_same_kid() -> None:
    rsa_key = jwt.algorithms.RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), as_dict=True
    )
    keys = Keys({"keys": [{**rsa_key, "kid": SIGNING["kid"], "alg": "RS256"}]})
    with pytest.raises(TokenRejected, match="does not sign with ES256"):
        verify(token("customer-1"), keys, POLICY)


def test_a_valid_token_gives_its_claims_within_the_leeway() -> None:
    assert verify(token("customer-1"), KEYS, POLICY)["sub"] == "customer-1"
    slightly_expired = forge(claims(exp=int(time.time()) - 10))
    assert verify(slightly_expired, KEYS, POLICY)["sub"] == "customer-1"


def test_the_key_is_picked_by_kid_from_a_set_of_several() -> None:
    # During a rotation the JWKS holds the new key and the old one: both verify their tokens
    new = {"keys": [new_signing_key(), *SIGNING_KEYS["keys"]]}
    keys = Keys(public_jwks(new["keys"]))
    from orderflow_cli.tokens import mint

    fresh = mint(new, customer="c-new", issuer=ISSUER, audience=AUDIENCE)
    assert jwt.get_unverified_header(fresh)["kid"] == new["keys"][0]["kid"]
    assert verify(fresh, keys, POLICY)["sub"] == "c-new"
    assert verify(token("c-old"), keys, POLICY)["sub"] == "c-old"


@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        ({}, True),
        ({"Authorization": ""}, True),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, False),
        ({"Authorization": "Bearer "}, False),
    ],
)
def test_the_authorization_header_must_be_a_bearer_token(headers: dict, missing: bool) -> None:
    with pytest.raises(TokenRejected) as rejected:
        bearer_token(headers)
    assert rejected.value.missing is missing
    assert bearer_token({"authorization": "bearer abc"}) == "abc"


# -- the edge ---------------------------------------------------------------------------------

router = Router()


@router.get("/whoami")
def whoami() -> dict:
    return {"customer": customer_id(router.current_event)}


handler = api_handler(api_resolver(router), customer_token=True)


@pytest.fixture
def jwks(mocked_aws: None, rate_limit_table: str) -> None:
    publish_jwks()


def call(lambda_context, headers: dict | None = None) -> dict:
    event = api_event("GET", "/whoami", headers=headers, api_key_id=PREMIUM_KEY_ID)
    event["requestContext"]["authorizer"] = {"principalId": "injected-by-the-caller"}
    return handler(event, lambda_context)


def test_the_edge_puts_the_token_sub_where_routes_read_the_customer(jwks, lambda_context):
    response = call(lambda_context, {"Authorization": f"Bearer {token('customer-9')}"})
    assert response["statusCode"] == 200
    assert json_body(response) == {"customer": "customer-9"}


@pytest.mark.parametrize(("bad", "problem"), REJECTED)
def test_every_rejection_is_a_401_with_a_bearer_challenge(jwks, lambda_context, bad, problem):
    response = call(lambda_context, {"Authorization": f"Bearer {bad}"})
    assert response["statusCode"] == 401
    body = json_body(response)
    assert problem in body["message"]
    assert body["errors"][0]["field"] == "Authorization"
    challenge = response["headers"]["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="orderflow", error="invalid_token", ')
    assert "error_description=" in challenge
    assert response["headers"]["X-RateLimit-Plan"] == "premium"  # the client's plan counted it


def test_no_token_is_a_401_whose_challenge_names_no_error(jwks, lambda_context):
    response = call(lambda_context)
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == 'Bearer realm="orderflow"'
    assert "missing customer token" in json_body(response)["message"]


def test_a_key_published_after_the_set_was_cached_is_taken_up(jwks) -> None:
    keys = ParameterKeys(JWKS_PARAMETER, max_age=300)
    assert keys.key(SIGNING["kid"]) is not None
    rotated = {"keys": [new_signing_key(), *SIGNING_KEYS["keys"]]}
    publish_jwks(rotated)
    # an unknown kid fetches the set again (once per cool-down)
    assert keys.key(rotated["keys"][0]["kid"]) is not None
    assert keys.key("made-up") is None
