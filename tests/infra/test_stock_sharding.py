"""Hot SKUs' default shard count: per stage, told to the seed function only, overridable."""

from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from tests.infra.conftest import synth
from tests.infra.helpers import function_ids_by_handler, resources

SEED = "inventory.handlers.seed_products.handler"


def variables(template: Template, handler: str) -> dict[str, Any]:
    logical_id = function_ids_by_handler(template)[handler]
    props = resources(template, "AWS::Lambda::Function")[logical_id]["Properties"]
    found: dict[str, Any] = props.get("Environment", {}).get("Variables", {})
    return found


def test_only_the_seed_is_told_the_default_shard_count(template: Template) -> None:
    for handler in function_ids_by_handler(template):
        assert ("STOCK_SHARDS" in variables(template, handler)) == (handler == SEED), handler
    assert variables(template, SEED)["STOCK_SHARDS"] == "4"


@pytest.mark.parametrize(("stage", "shards"), [("dev", 4), ("prod", 10), ("staging", 4)])
def test_default_shards_per_stage(stage: str, shards: int) -> None:
    assert DeploymentConfig(stage=stage).stock_sharding.default_shards == shards


def test_prod_synthesises_ten_shards_and_the_context_overrides_it() -> None:
    prod = synth(**{"orderflow:stage": "prod"})
    assert variables(prod, SEED)["STOCK_SHARDS"] == "10"
    config = DeploymentConfig(stage="prod", stock_sharding='{"default_shards": 16}')
    assert config.stock_sharding.default_shards == 16


@pytest.mark.parametrize("shards", [1, 51])
def test_a_shard_count_outside_2_to_50_is_refused(shards: int) -> None:
    with pytest.raises(ValidationError, match=r"stock_sharding\.default_shards"):
        DeploymentConfig(stock_sharding={"default_shards": shards})
