"""Deployment settings: where they come from and what a stage changes."""

import aws_cdk as cdk
import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from pydantic import ValidationError

from infra.config import DeploymentConfig
from tests.infra.conftest import synth


def config_from(context: dict[str, object]) -> DeploymentConfig:
    return DeploymentConfig.from_context(cdk.App(context=context).node)


def test_defaults_to_a_disposable_dev_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERFLOW_STAGE", raising=False)
    config = config_from({})
    assert config.stage == "dev"
    assert config.bus_name == "orderflow-dev"
    assert config.removal_policy == RemovalPolicy.DESTROY
    assert config.log_retention == logs.RetentionDays.TWO_WEEKS


def test_context_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_STAGE", "from-env")
    assert config_from({}).stage == "from-env"
    assert config_from({"orderflow:stage": "from-context"}).stage == "from-context"


def test_context_values_arrive_as_strings_from_the_cli() -> None:
    # `cdk synth -c orderflow:logRetentionDays=30` passes "30"
    config = config_from({"orderflow:logRetentionDays": "30"})
    assert config.log_retention == logs.RetentionDays.ONE_MONTH


@pytest.mark.parametrize(
    "context",
    [
        {"orderflow:stage": "Prod Stage"},
        {"orderflow:stage": ""},
        {"orderflow:logRetentionDays": 10},
    ],
)
def test_invalid_settings_are_rejected(context: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        config_from(context)


def test_prod_keeps_its_table_and_logs() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "orderflow-prod"})
