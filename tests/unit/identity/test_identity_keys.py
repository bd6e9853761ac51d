"""The dev signing key's custom resource, the JWKS route, and `orderflow token`."""

import json
from collections.abc import Iterator

import boto3
import jwt
import pytest
from typer.testing import CliRunner

import identity.dal
from identity.handlers import jwks, signing_key
from identity.logic.keys import public_jwks, signing_keys, thumbprint
from orderflow_cli.main import app
from orderflow_cli.tokens import NoDevSigningKey, StageIssuer
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import REGION
from tests.unit.domain_common.identity import AUDIENCE, ISSUER, JWKS_PARAMETER

SECRET = "orderflow/test/identity-dev-signing-key"


@pytest.fixture
def stage(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The secret as CloudFormation creates it (a generated password) and the empty JWKS."""
    monkeypatch.setenv("JWKS_PARAMETER", JWKS_PARAMETER)
    monkeypatch.setenv("SIGNING_KEY_SECRET_NAME", SECRET)
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")
    identity.dal.reset()
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=SECRET, SecretString="Generated-by-CloudFormation-0123456789"
    )
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=JWKS_PARAMETER, Value='{"keys": []}', Type="String"
    )
    yield
    identity.dal.reset()


def secret_value() -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.get_secret_value(SecretId=SECRET)["SecretString"]


def published() -> dict:
    client = boto3.client("ssm", region_name=REGION)
    return json.loads(client.get_parameter(Name=JWKS_PARAMETER)["Parameter"]["Value"])


def test_create_makes_a_key_once_and_publishes_only_its_public_half(stage, lambda_context):
    first = signing_key.handler({"RequestType": "Create"}, lambda_context)
    [key] = signing_keys(secret_value()) or []
    assert first["Data"] == {"Kid": key["kid"]} and key["kid"] == thumbprint(key)
    assert published() == public_jwks([key]) and "d" not in published()["keys"][0]
    assert key["d"] not in json.dumps(first)
    # a redeploy keeps the key (tokens out there stay valid)
    again = signing_key.handler({"RequestType": "Update"}, lambda_context)
    assert again["Data"] == first["Data"]
    assert signing_keys(secret_value()) == [key]
    assert signing_key.handler({"RequestType": "Delete"}, lambda_context)["PhysicalResourceId"]


def test_the_jwks_route_serves_the_published_keys(stage, lambda_context):
    signing_key.handler({"RequestType": "Create"}, lambda_context)
    response = jwks.handler(
        api_event("GET", "/.well-known/jwks.json", api_key_id=None), lambda_context
    )
    assert response["statusCode"] == 200
    assert json_body(response) == published()
    assert response["multiValueHeaders"]["Cache-Control"] == ["public, max-age=300"]


def test_stage_issuer_mints_tokens_the_published_keys_verify(stage, lambda_context):
    signing_key.handler({"RequestType": "Create"}, lambda_context)
    outputs = {
        "DevSigningKeySecretName": SECRET,
        "IdentityIssuer": ISSUER,
        "IdentityAudience": AUDIENCE,
    }
    issuer = StageIssuer.from_outputs(outputs, boto3.client("secretsmanager", region_name=REGION))
    token = issuer.token("c-1", ttl_seconds=60)
    key = jwt.PyJWK(published()["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == "c-1" and claims["exp"] - claims["iat"] == 60


def test_a_stage_without_a_dev_key_refuses_to_mint(tmp_path):
    with pytest.raises(NoDevSigningKey, match="no dev signing key"):
        StageIssuer.from_outputs({"IdentityIssuer": ISSUER, "IdentityAudience": AUDIENCE})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Orderflow": {"IdentityIssuer": ISSUER}}))
    result = CliRunner().invoke(app, ["--outputs", str(outputs), "token", "--customer", "c-1"])
    assert result.exit_code == 2
    assert "no dev signing key" in result.output


def test_a_secret_without_a_key_yet_is_refused_clearly(stage):
    issuer = StageIssuer(
        SECRET, ISSUER, AUDIENCE, boto3.client("secretsmanager", region_name=REGION)
    )
    with pytest.raises(NoDevSigningKey, match="holds no signing key yet"):
        issuer.token("c-1")
