"""In the template: long polling's function timeout, settings and cap (GetOrder), the
catalogue's in-memory copy and Cache-Control (ListProducts, both APIs), and API Gateway's cache
for GET /products (on in prod, off on dev), with cdk-nag's findings handled (infra/polling.py)."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.polling import (
    API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS,
    FUNCTION_MARGIN_SECONDS,
    PRODUCTS_CACHE_KEY,
)
from tests.infra.conftest import synth
from tests.infra.helpers import function_ids_by_handler, resources

GET_ORDER = "orders.handlers.get_order.handler"
LIST_PRODUCTS = "inventory.handlers.list_products.handler"


@pytest.fixture(scope="module")
def prod() -> Template:
    return synth(**{"orderflow:stage": "prod"})


def function(template: Template, handler: str) -> dict[str, Any]:
    logical_id = function_ids_by_handler(template)[handler]
    props: dict[str, Any] = resources(template, "AWS::Lambda::Function")[logical_id]["Properties"]
    return props


def products_method(template: Template) -> dict[str, Any]:
    [method] = [
        m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "GET"
        and "products" in json.dumps(m["Properties"]["ResourceId"]).lower()
    ]
    return method


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_get_order_outlasts_the_longest_wait_within_api_gateways_timeout(stage: str) -> None:
    template = synth(**{"orderflow:stage": stage})
    props = function(template, GET_ORDER)
    max_wait = int(props["Environment"]["Variables"]["LONG_POLL_MAX_WAIT_SECONDS"])
    assert max_wait == 20
    assert props["Timeout"] == max_wait + FUNCTION_MARGIN_SECONDS
    assert props["Timeout"] < API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS
    assert props["Environment"]["Variables"]["LONG_POLL_INTERVAL_MS"] == "250"


def test_a_shorter_max_wait_shortens_the_timeout() -> None:
    template = synth(**{"orderflow:polling": '{"max_wait_seconds": 8, "interval_ms": 500}'})
    props = function(template, GET_ORDER)
    assert props["Timeout"] == 13
    assert props["Environment"]["Variables"]["LONG_POLL_MAX_WAIT_SECONDS"] == "8"
    assert props["Environment"]["Variables"]["LONG_POLL_INTERVAL_MS"] == "500"


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_wait_seconds": 21},  # the API's ceiling; 21 + 5 would near API Gateway's 29 s
        {"max_wait_seconds": 0},
        {"interval_ms": 10},
        {"products": {"api_cache_size_gb": "2"}},
        {"products": {"max_age_seconds": -1}},
        {"waitSeconds": 5},
    ],
)
def test_bad_polling_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="polling"):
        DeploymentConfig(polling=json.dumps(overrides))


def test_only_get_order_and_list_products_get_the_polling_settings(template: Template) -> None:
    for handler, logical_id in function_ids_by_handler(template).items():
        props = resources(template, "AWS::Lambda::Function")[logical_id]["Properties"]
        variables = props.get("Environment", {}).get("Variables", {})
        assert ("LONG_POLL_MAX_WAIT_SECONDS" in variables) == (handler == GET_ORDER), handler
        if "CATALOGUE_TTL_SECONDS" in variables:
            assert handler == LIST_PRODUCTS


@pytest.mark.parametrize(("stage", "seconds"), [("dev", "5"), ("prod", "30")])
def test_list_products_keeps_the_catalogue_and_says_max_age_per_stage(
    stage: str, seconds: str
) -> None:
    variables = function(synth(**{"orderflow:stage": stage}), LIST_PRODUCTS)["Environment"][
        "Variables"
    ]
    assert variables["CATALOGUE_TTL_SECONDS"] == seconds
    assert variables["PRODUCTS_MAX_AGE_SECONDS"] == seconds


def test_the_benchmarks_list_products_keeps_the_same_copy(bench_template: Template) -> None:
    variables = function(bench_template, LIST_PRODUCTS)["Environment"]["Variables"]
    assert variables["CATALOGUE_TTL_SECONDS"] == "5"


def test_dev_has_no_api_gateway_cache(template: Template) -> None:
    for stage in resources(template, "AWS::ApiGateway::Stage").values():
        props = stage["Properties"]
        assert not props.get("CacheClusterEnabled")
        assert not any(s.get("CachingEnabled") for s in props.get("MethodSettings", []))
    method = products_method(template)
    assert "CacheKeyParameters" not in method["Integration"]


def test_prod_caches_get_products_only_encrypted_and_keyed_by_filter_key_and_etag(
    prod: Template,
) -> None:
    [stage] = resources(prod, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["CacheClusterEnabled"] is True
    assert props["CacheClusterSize"] == "0.5"
    cached = [s for s in props["MethodSettings"] if s.get("CachingEnabled")]
    assert cached == [
        {
            "CacheDataEncrypted": True,
            "CacheTtlInSeconds": 30,
            "CachingEnabled": True,
            "DataTraceEnabled": False,
            "HttpMethod": "GET",
            "ResourcePath": "/~1products",
            "ThrottlingBurstLimit": 1000,
            "ThrottlingRateLimit": 500,
        }
    ]
    method = products_method(prod)
    assert sorted(method["Integration"]["CacheKeyParameters"]) == sorted(PRODUCTS_CACHE_KEY)
    assert method["RequestParameters"] == dict.fromkeys(PRODUCTS_CACHE_KEY, False)
    # the other routes are not cached: GET /orders/{orderId} is per customer and changes
    keyed = [
        m
        for m in resources(prod, "AWS::ApiGateway::Method").values()
        if "CacheKeyParameters" in m["Properties"].get("Integration", {})
    ]
    assert len(keyed) == 1


def test_the_cache_can_be_turned_on_for_a_stage_with_its_size_and_ttl() -> None:
    template = synth(
        **{
            "orderflow:stage": "staging",
            "orderflow:polling": json.dumps(
                {
                    "products": {
                        "api_cache": True,
                        "api_cache_size_gb": "1.6",
                        "api_cache_ttl_seconds": 60,
                    }
                }
            ),
        }
    )
    [stage] = resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["CacheClusterSize"] == "1.6"
    [cached] = [s for s in stage["Properties"]["MethodSettings"] if s.get("CachingEnabled")]
    assert cached["CacheTtlInSeconds"] == 60
