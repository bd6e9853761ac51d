"""The API edge in the synthesised template: API keys on usage plans (throttle and daily
quota), keyed methods, stage throttling, gateway responses, the limiter's and idempotency
tables, and the limiter sized from the same plans."""

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.api import pascal_case
from infra.config import DeploymentConfig
from infra.plans import DEFAULT_API_CLIENTS, DEFAULT_USAGE_PLANS
from tests.infra.conftest import synth
from tests.infra.helpers import function_statements, resources
from tests.infra.test_order_fulfilment import output_ref

API_HANDLERS = (
    "orders.handlers.place_order.handler",
    "orders.handlers.get_order.handler",
    "inventory.handlers.list_products.handler",
    "webhooks.handlers.api.handler",
)
OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())


def usage_plans(template: Template) -> dict[str, dict[str, Any]]:
    return {
        plan["Properties"]["UsagePlanName"].rsplit("-", 1)[-1]: plan["Properties"]
        for plan in resources(template, "AWS::ApiGateway::UsagePlan").values()
    }


def limited_functions(template: Template) -> dict[str, dict[str, Any]]:
    """The API functions that run the limiter, by logical id."""
    return {
        name: function["Properties"]
        for name, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"]["Environment"]["Variables"].get("RATE_LIMIT_ENABLED") == "true"
    }


def test_each_plan_is_a_usage_plan_with_throttle_and_daily_quota(template: Template) -> None:
    plans = usage_plans(template)
    assert set(plans) == {plan.name for plan in DEFAULT_USAGE_PLANS}
    for spec in DEFAULT_USAGE_PLANS:
        plan = plans[spec.name]
        assert plan["Throttle"] == {"RateLimit": spec.rate_limit, "BurstLimit": spec.burst_limit}
        assert plan["Quota"] == {"Limit": spec.daily_quota, "Period": "DAY"}
        # on the orders API's stage (the baseline API has plans of its own, in OrderflowBench)
        apis = {stage["ApiId"]["Ref"] for stage in plan["ApiStages"]}
        assert apis == {output_ref(template, "OrdersApiId")}


def test_each_client_has_a_key_on_its_plan(template: Template) -> None:
    keys = resources(template, "AWS::ApiGateway::ApiKey")
    plan_ids = {
        name: plan["Properties"]["UsagePlanName"].rsplit("-", 1)[-1]
        for name, plan in resources(template, "AWS::ApiGateway::UsagePlan").items()
    }
    attached = {
        link["Properties"]["KeyId"]["Ref"]: plan_ids[link["Properties"]["UsagePlanId"]["Ref"]]
        for link in resources(template, "AWS::ApiGateway::UsagePlanKey").values()
    }
    assert len(keys) == len(DEFAULT_API_CLIENTS)
    for client in DEFAULT_API_CLIENTS:
        key_id = output_ref(template, f"{pascal_case(client.name)}ApiKeyId")
        assert keys[key_id]["Properties"]["Enabled"] is True
        assert "Value" not in keys[key_id]["Properties"]  # generated, never in the template
        assert attached[key_id] == client.plan


def test_every_method_requires_an_api_key_from_the_header(template: Template) -> None:
    """Every method but the stage's JWKS (public) and the payment provider's webhook (its
    signature authenticates it)."""
    methods = resources(template, "AWS::ApiGateway::Method")
    assert methods
    paths = {
        name: r["Properties"]["PathPart"]
        for name, r in resources(template, "AWS::ApiGateway::Resource").items()
    }
    unkeyed = {  # the stage's public JWKS (test_identity.py) and the provider's webhook
        (m["Properties"]["HttpMethod"], paths[m["Properties"]["ResourceId"]["Ref"]])
        for m in methods.values()
        if m["Properties"]["ApiKeyRequired"] is not True
    }
    assert unkeyed == {("GET", "jwks.json"), ("POST", "payments")}
    [webhook] = [
        m for m in methods.values() if paths[m["Properties"]["ResourceId"]["Ref"]] == "payments"
    ]
    resource = resources(template, "AWS::ApiGateway::Resource")[
        webhook["Properties"]["ResourceId"]["Ref"]
    ]
    parent = resources(template, "AWS::ApiGateway::Resource")[
        resource["Properties"]["ParentId"]["Ref"]
    ]
    assert parent["Properties"]["PathPart"] == "webhooks"
    for api in resources(template, "AWS::ApiGateway::RestApi").values():
        assert api["Properties"]["ApiKeySourceType"] == "HEADER"


def test_the_stage_throttles_every_method(template: Template) -> None:
    config = DeploymentConfig()
    for stage in resources(template, "AWS::ApiGateway::Stage").values():
        assert stage["Properties"]["StageName"] == "prod"
        [settings] = stage["Properties"]["MethodSettings"]
        assert (settings["HttpMethod"], settings["ResourcePath"]) == ("*", "/*")
        assert settings["ThrottlingRateLimit"] == config.api_throttle_rate
        assert settings["ThrottlingBurstLimit"] == config.api_throttle_burst


def test_gateway_errors_look_like_the_applications(template: Template) -> None:
    responses = {
        (r["Properties"]["RestApiId"]["Ref"], r["Properties"]["ResponseType"]): r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    api = output_ref(template, "OrdersApiId")
    invalid_key = responses[(api, "INVALID_API_KEY")]
    assert invalid_key["StatusCode"] == "403"
    assert (
        "x-api-key" in json.loads(invalid_key["ResponseTemplates"]["application/json"])["message"]
    )
    for type_ in ("THROTTLED", "QUOTA_EXCEEDED"):
        response = responses[(api, type_)]
        assert response["StatusCode"] == "429"
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert set(body) == {"message", "retryAfter"}  # the RateLimited model
        assert response["ResponseParameters"] == {
            "gatewayresponse.header.Retry-After": f"'{body['retryAfter']}'"
        }


def test_the_api_serves_exactly_the_operations_of_the_openapi_document(template: Template) -> None:
    api = output_ref(template, "OrdersApiId")
    resources_by_id = resources(template, "AWS::ApiGateway::Resource")

    def path(resource_ref: dict[str, Any]) -> str:
        if "Fn::GetAtt" in resource_ref:  # the root
            return ""
        resource = resources_by_id[resource_ref["Ref"]]["Properties"]
        return f"{path(resource['ParentId'])}/{resource['PathPart']}"

    served = {
        (path(m["Properties"]["ResourceId"]), m["Properties"]["HttpMethod"].lower())
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["RestApiId"] == {"Ref": api}
    }
    documented = {(p, method) for p, ops in OPENAPI["paths"].items() for method in ops}
    assert served == documented


def test_limiter_table_and_idempotency_table_expire_their_items(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    limiter = tables[output_ref(template, "RateLimitTableName")]["Properties"]
    assert limiter["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert limiter["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    idempotency = tables[output_ref(template, "IdempotencyTableName")]["Properties"]
    assert idempotency["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert idempotency["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_the_limiter_is_sized_from_the_usage_plans(template: Template) -> None:
    plans = usage_plans(template)
    functions = limited_functions(template)
    assert {f["Handler"] for f in functions.values()} == set(API_HANDLERS)
    for function in functions.values():
        variables = function["Environment"]["Variables"]
        limiter = json.loads(render_tokens(variables["RATE_LIMIT_PLANS"]))
        assert set(limiter) == set(plans)
        for name, plan in plans.items():
            assert limiter[name]["rate"] == plan["Throttle"]["RateLimit"]
            assert limiter[name]["burst"] == plan["Throttle"]["BurstLimit"]
            assert limiter[name]["dailyQuota"] == plan["Quota"]["Limit"]
        # and each plan lists the ids of its clients' keys
        for client in DEFAULT_API_CLIENTS:
            key = output_ref(template, f"{pascal_case(client.name)}ApiKeyId")
            assert f"<{key}>" in limiter[client.plan]["apiKeyIds"]
        assert variables["RATE_LIMIT_DEFAULT_PLAN"] == "basic"
        assert variables["RATE_LIMIT_TABLE"] == {"Ref": output_ref(template, "RateLimitTableName")}


def test_api_functions_get_only_the_tables_they_use(template: Template) -> None:
    limiter = output_ref(template, "RateLimitTableName")
    idempotency = output_ref(template, "IdempotencyTableName")
    for function_id, function in limited_functions(template).items():
        granted = {
            resource["Fn::GetAtt"][0]
            for statement in function_statements(template, function_id)
            for resource in _as_list(statement["Resource"])
            if isinstance(resource, dict) and "Fn::GetAtt" in resource
        }
        assert limiter in granted
        assert (idempotency in granted) == (function["Handler"] == API_HANDLERS[0])


def test_every_api_function_runs_the_limiter(template: Template) -> None:
    # (the baseline's GET /products, without limiting, is in OrderflowBench); the payment
    # webhook has no API key to limit by: its signature is checked first
    functions = resources(template, "AWS::Lambda::Function").values()
    assert [
        f["Properties"]["Handler"]
        for f in functions
        if f["Properties"]["Environment"]["Variables"].get("RATE_LIMIT_ENABLED") == "false"
        # the public JWKS route has no API key to limit (tests/infra/test_identity.py)
        and f["Properties"]["Handler"] != "identity.handlers.jwks.handler"
    ] == ["payments.handlers.payment_webhook.handler"]


def test_plans_are_configurable_per_stage() -> None:
    plans = [
        {"name": "tiny", "rate_limit": 1, "burst_limit": 2, "daily_quota": 50},
        {"name": "huge", "rate_limit": 200, "burst_limit": 400, "daily_quota": 10**6},
    ]
    clients = [{"name": "only", "plan": "huge"}]
    template = synth(
        **{
            "orderflow:usagePlans": json.dumps(plans),
            "orderflow:apiClients": json.dumps(clients),
            "orderflow:defaultPlan": "tiny",
        }
    )
    found = usage_plans(template)
    assert found["tiny"]["Throttle"] == {"RateLimit": 1, "BurstLimit": 2}
    assert found["huge"]["Quota"] == {"Limit": 10**6, "Period": "DAY"}
    assert len(resources(template, "AWS::ApiGateway::ApiKey")) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"api_clients": [{"name": "x", "plan": "gold"}]},
        {"default_plan": "gold"},
        {"usage_plans": []},
        {"api_throttle_rate": 10},  # below the premium plan's 50 requests/s
    ],
)
def test_inconsistent_plans_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError is one
        DeploymentConfig(**overrides)


def render_tokens(value: Any) -> str:
    """An ``Fn::Join`` of strings and ``Ref``s as text, a ``Ref`` as ``<id>``."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return separator.join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in parts)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
