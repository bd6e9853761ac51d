"""Every function carries the tags chaos experiments select targets by (AWS FIS
``resourceTags``): ``orderflow:service`` (its folder under ``functions/``) and
``orderflow:function`` (a short kebab-case name, unique in the stack)."""

import re
from pathlib import Path

from aws_cdk.assertions import Template

from infra.lambda_defaults import FUNCTION_TAG, SERVICE_TAG, function_tag
from tests.infra.helpers import resources

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def tags_of(properties: dict[str, object]) -> dict[str, str]:
    tags = properties.get("Tags", [])
    assert isinstance(tags, list)
    return {tag["Key"]: tag["Value"] for tag in tags}


def test_every_function_is_tagged_with_its_service_and_a_unique_short_name(
    template: Template,
) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    names: dict[str, str] = {}
    for logical_id, function in functions.items():
        properties = function["Properties"]
        tags = tags_of(properties)
        service, name = tags.get(SERVICE_TAG), tags.get(FUNCTION_TAG)
        assert service and name, f"{logical_id} lacks {SERVICE_TAG} or {FUNCTION_TAG}: {tags}"
        assert (FUNCTIONS / service / "__init__.py").exists(), (logical_id, service)
        if properties["Runtime"].startswith("python"):  # not CDK's provider framework (Node.js)
            assert properties["Handler"].startswith(f"{service}.handlers."), (logical_id, service)
        assert KEBAB.match(name), (logical_id, name)
        assert name not in names, f"{logical_id} and {names[name]} are both {name}"
        names[name] = logical_id
    assert {"reserve-inventory", "seed-products-provider"} <= names.keys()
    assert len(names) == len(functions)


def test_the_short_name_is_the_handler_module_in_kebab_case() -> None:
    assert function_tag("inventory.handlers.reserve_inventory.handler") == "reserve-inventory"
    assert function_tag("orders.handlers.projector.handler") == "projector"
