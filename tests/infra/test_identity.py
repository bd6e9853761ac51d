"""Customer identity in the template: the dev signing key (a secret written by a custom
resource, never a value in the template), the published JWKS and who may read or write what,
the public JWKS route, and the stage settings that change them."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from tests.infra.conftest import synth
from tests.infra.helpers import as_list, function_ids_by_handler, function_statements, resources

SIGNING_KEY = "identity.handlers.signing_key.handler"
CUSTOMER_ROUTES = ("orders.handlers.place_order.handler", "orders.handlers.get_order.handler")
JWKS = "identity.handlers.jwks.handler"


def environment(template: Template, function_id: str) -> dict[str, Any]:
    function = template.to_json()["Resources"][function_id]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def allowed(template: Template, function_id: str) -> dict[str, set[str]]:
    """action -> the resources (rendered as JSON) the function's role may use it on."""
    found: dict[str, set[str]] = {}
    for statement in function_statements(template, function_id):
        for action in as_list(statement["Action"]):
            found.setdefault(action, set()).add(json.dumps(statement["Resource"]))
    return found


def test_dev_generates_its_signing_key_into_a_secret_it_never_holds(template: Template) -> None:
    [secret] = resources(template, "AWS::SecretsManager::Secret", "FulfilmentIdentity").values()
    assert secret["Properties"]["Name"] == "orderflow/dev/identity-dev-signing-key"
    assert "SecretString" not in secret["Properties"]  # the custom resource writes it
    [resource] = resources(template, "Custom::DevSigningKey").values()
    functions = function_ids_by_handler(template)
    key_function = functions[SIGNING_KEY]
    assert environment(template, key_function)["SIGNING_KEY_SECRET_NAME"] == (
        "orderflow/dev/identity-dev-signing-key"
    )
    assert resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0].startswith(
        "FulfilmentIdentitySigningKeyProviderframeworkonEvent"
    )


def test_only_the_key_function_touches_the_secret_and_writes_the_jwks(template: Template) -> None:
    functions = function_ids_by_handler(template)
    [secret_id] = resources(template, "AWS::SecretsManager::Secret", "FulfilmentIdentity")
    [parameter_id] = resources(template, "AWS::SSM::Parameter", "FulfilmentIdentity")
    key_actions = allowed(template, functions[SIGNING_KEY])
    assert secret_id in "".join(key_actions["secretsmanager:PutSecretValue"])
    assert secret_id in "".join(key_actions["secretsmanager:GetSecretValue"])
    assert parameter_id in "".join(key_actions["ssm:PutParameter"])
    for handler, function_id in functions.items():
        actions = allowed(template, function_id)
        if handler != SIGNING_KEY:
            assert not any(secret_id in "".join(r) for r in actions.values()), handler
            assert "ssm:PutParameter" not in actions or parameter_id not in "".join(
                actions["ssm:PutParameter"]
            ), handler


def test_the_customer_routes_verify_tokens_against_the_stage_jwks(template: Template) -> None:
    functions = function_ids_by_handler(template)
    [parameter_id] = resources(template, "AWS::SSM::Parameter", "FulfilmentIdentity")
    for handler in (*CUSTOMER_ROUTES, JWKS):
        env = environment(template, functions[handler])
        assert env["IDENTITY_ISSUER"] == "https://orderflow.dev/dev"
        assert env["IDENTITY_AUDIENCE"] == "orderflow-api"
        assert env["IDENTITY_JWKS_PARAMETER"] == {"Ref": parameter_id}
        assert "IDENTITY_JWKS_URL" not in env
        assert parameter_id in "".join(allowed(template, functions[handler])["ssm:GetParameter"])
    assert "IDENTITY_ISSUER" not in environment(
        template, functions["inventory.handlers.list_products.handler"]
    )


def test_the_jwks_route_is_public_beside_the_signed_payment_webhook(template: Template) -> None:
    methods = resources(template, "AWS::ApiGateway::Method")
    paths = {
        name: r["Properties"]["PathPart"]
        for name, r in resources(template, "AWS::ApiGateway::Resource").items()
    }
    public = {
        paths[m["Properties"]["ResourceId"]["Ref"]]
        for m in methods.values()
        if not m["Properties"].get("ApiKeyRequired")
    }
    assert public == {"jwks.json", "payments"}  # payments: tests/infra/test_payment_webhook.py


def test_outputs_name_the_secret_never_its_value(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert outputs["DevSigningKeySecretName"]["Value"] == "orderflow/dev/identity-dev-signing-key"
    assert outputs["IdentityIssuer"]["Value"] == "https://orderflow.dev/dev"
    assert "DevSigningKeyFunctionName" in outputs and "JwksUrl" in outputs


def test_prod_has_no_dev_signing_key_but_its_own_jwks() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    assert resources(template, "AWS::SecretsManager::Secret", "FulfilmentIdentity") == {}
    assert resources(template, "Custom::DevSigningKey") == {}
    assert len(resources(template, "AWS::SSM::Parameter", "FulfilmentIdentity")) == 1
    outputs = template.to_json()["Outputs"]
    assert "DevSigningKeySecretName" not in outputs
    assert outputs["IdentityIssuer"]["Value"] == "https://orderflow.dev/prod"


def test_an_external_issuer_replaces_the_stage_keys() -> None:
    identity = json.dumps(
        {
            "jwks_url": "https://idp.example.com/.well-known/jwks.json",
            "issuer": "https://idp.example.com/",
            "dev_signing_key": False,
        }
    )
    template = synth(**{"orderflow:identity": identity})
    assert resources(template, "AWS::SSM::Parameter", "FulfilmentIdentity") == {}
    assert resources(template, "Custom::DevSigningKey") == {}
    functions = function_ids_by_handler(template)
    assert JWKS not in functions
    for handler in CUSTOMER_ROUTES:
        env = environment(template, functions[handler])
        assert env["IDENTITY_JWKS_URL"] == "https://idp.example.com/.well-known/jwks.json"
        assert env["IDENTITY_ISSUER"] == "https://idp.example.com/"


@pytest.mark.parametrize(
    "identity",
    [
        {"jwks_url": "https://idp.example.com/jwks.json"},  # and dev's own signing key
        {"jwks_url": "http://idp.example.com/jwks.json", "dev_signing_key": False},
        {"issuer": "orderflow"},
        {"leeway_seconds": 3600},
    ],
)
def test_bad_identity_settings_are_refused(identity: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="identity"):
        DeploymentConfig(identity=identity)
