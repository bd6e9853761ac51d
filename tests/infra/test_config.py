"""Deployment settings: where they come from and what a stage changes."""

import aws_cdk as cdk
import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from pydantic import ValidationError

from infra.archive import ArchiveConfig
from infra.config import DeploymentConfig
from infra.sections import ConfigSection
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


def test_a_section_override_merges_onto_the_stage_defaults() -> None:
    # Given prod, whose resilience defaults differ from dev's, and a JSON override (as `cdk -c`
    # hands it) of one nested field
    config = config_from(
        {
            "orderflow:stage": "prod",
            "orderflow:resilience": '{"bulkheads": {"account_concurrency": 10}}',
            "orderflow:archive": "{}",
        }
    )

    # Then that field is overridden, and every other keeps the stage's default
    assert config.resilience.bulkheads.account_concurrency == 10
    assert config.resilience.bulkheads.authorize_payment == 50  # prod's, not dev's 3
    assert config.resilience.breaker.failure_threshold == 10
    assert config.archive.retention_days == 365
    assert config_from({}).archive.retention_days == 7
    assert config_from({}).resilience.bulkheads.authorize_payment == 3


def test_a_bad_section_value_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        config_from({"orderflow:resilience": '{"bulkheads": {"queue_consumer": "many"}}'})

    [error] = refused.value.errors()
    assert error["loc"] == ("resilience", "bulkheads", "queue_consumer")
    assert "resilience.bulkheads.queue_consumer" in str(refused.value)


def test_a_section_instance_is_taken_as_it_is() -> None:
    config = DeploymentConfig(stage="prod", archive=ArchiveConfig(retention_days=30))
    assert config.archive.retention_days == 30


def test_every_section_is_set_and_defaulted_the_one_way() -> None:
    sections = {
        name
        for name, field in DeploymentConfig.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, ConfigSection)
    }
    validator = DeploymentConfig.__pydantic_decorators__.field_validators[
        "_section_from_stage_and_context"
    ]

    assert sections == {
        "saga_timeouts",
        "reconciler",
        "resilience",
        "archive",
        "chaos",
        "tracing",
        "alerts",
        "identity",
        "polling",
        "webhooks",
        "payment_webhook",
        "stock_sharding",
    }
    assert set(validator.info.fields) == sections
    for name in sections:
        # validated even when unset, so that the stage's defaults apply
        assert DeploymentConfig.model_fields[name].validate_default, name


def test_the_sandbox_provider_confirms_within_seconds_on_dev_only() -> None:
    dev = config_from({"orderflow:stage": "dev"}).payment_webhook
    prod = config_from({"orderflow:stage": "prod"}).payment_webhook
    assert (dev.confirmation_delay_seconds, dev.tolerance_seconds) == (3, 300)
    assert (prod.confirmation_delay_seconds, prod.tolerance_seconds) == (20, 300)
    with pytest.raises(ValueError, match="tolerance_seconds"):
        config_from({"orderflow:paymentWebhook": '{"tolerance_seconds": 301}'})
