"""The ``OrderflowBench`` stack: the benchmark's baseline API, beside the product and apart
from it (``make bench`` deploys it, ``make deploy`` does not)."""

import json
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.api import pascal_case
from infra.app import BENCH_STACK, PRODUCT_STACK, build_app, offline_app
from infra.plans import DEFAULT_API_CLIENTS, DEFAULT_USAGE_PLANS
from tests.infra.helpers import resources
from tests.infra.test_order_fulfilment import output_ref

LIST_PRODUCTS = "inventory.handlers.list_products.handler"


def imported(template: Template, value: Any) -> str:
    """The logical id of the ``Orderflow`` resource an ``Fn::ImportValue`` reads (CDK names
    the export ``<stack>:ExportsOutput<Ref|FnGetAtt><logical id><attribute><hash>``)."""
    name: str = value["Fn::ImportValue"]
    stack, export = name.split(":", 1)
    assert stack == PRODUCT_STACK
    return export


def test_the_baseline_serves_get_products_without_rate_limiting(
    bench_template: Template, template: Template
) -> None:
    [function] = resources(bench_template, "AWS::Lambda::Function").values()
    properties = function["Properties"]
    variables = properties["Environment"]["Variables"]

    assert properties["Handler"] == LIST_PRODUCTS
    assert variables["RATE_LIMIT_ENABLED"] == "false"
    assert "RATE_LIMIT_TABLE" not in variables
    # the product's products table, by cross-stack reference, and the bus by its name
    products = output_ref(template, "ProductsTableName")
    assert products in imported(bench_template, variables["PRODUCTS_TABLE"])
    assert variables["EVENT_BUS_NAME"] == "orderflow-dev"


def test_the_baseline_api_is_keyed_with_the_products_keys_and_plans(
    bench_template: Template, template: Template
) -> None:
    [method] = resources(bench_template, "AWS::ApiGateway::Method").values()
    plans = {
        plan["Properties"]["UsagePlanName"].rsplit("-", 1)[-1]: (name, plan["Properties"])
        for name, plan in resources(bench_template, "AWS::ApiGateway::UsagePlan").items()
    }
    keys = {
        (
            link["Properties"]["UsagePlanId"]["Ref"],
            imported(bench_template, link["Properties"]["KeyId"]),
        )
        for link in resources(bench_template, "AWS::ApiGateway::UsagePlanKey").values()
    }
    api = bench_template.find_outputs("BaselineApiId")["BaselineApiId"]["Value"]["Ref"]

    assert method["Properties"]["HttpMethod"] == "GET"
    assert method["Properties"]["ApiKeyRequired"] is True
    assert set(plans) == {spec.name for spec in DEFAULT_USAGE_PLANS}
    for spec in DEFAULT_USAGE_PLANS:
        plan_id, plan = plans[spec.name]
        assert plan["Throttle"] == {"RateLimit": spec.rate_limit, "BurstLimit": spec.burst_limit}
        assert [stage["ApiId"] for stage in plan["ApiStages"]] == [{"Ref": api}]
        for client in DEFAULT_API_CLIENTS:
            if client.plan == spec.name:
                product_key = output_ref(template, f"{pascal_case(client.name)}ApiKeyId")
                assert any(
                    plan_ref == plan_id and product_key in export for plan_ref, export in keys
                )
    assert len(keys) == len(DEFAULT_API_CLIENTS)


def test_cross_stack_references_are_exports_the_emulator_knows(
    bench_template: Template,
) -> None:
    text = json.dumps(bench_template.to_json())
    assert "Fn::ImportValue" in text
    assert "Fn::GetStackOutput" not in text


def test_the_dev_app_has_both_stacks_and_prod_only_the_product() -> None:
    for stage, expected in (("dev", [PRODUCT_STACK, BENCH_STACK]), ("prod", [PRODUCT_STACK])):
        app = offline_app(**{"orderflow:stage": stage})
        build_app(app)
        assert [c.node.id for c in app.node.children if isinstance(c, Stack)] == expected
