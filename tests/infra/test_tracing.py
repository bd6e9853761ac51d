"""X-Ray sampling per stage: dev traces every request (a sampling rule), every other stage keeps
AWS's default rule (no rule deployed); tracing is on wherever AWS has a switch for it."""

import re

import pytest
from aws_cdk.assertions import Match, Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.tracing import sampling_rule_name
from tests.infra.conftest import synth
from tests.infra.helpers import resources

SAMPLING_RULE = "AWS::XRay::SamplingRule"
ACTIVE = {"Mode": "Active"}


def test_dev_deploys_a_rule_that_samples_every_request(template: Template) -> None:
    rules = resources(template, SAMPLING_RULE)
    assert len(rules) == 1
    (rule,) = rules.values()
    assert rule["Properties"]["SamplingRule"] == {
        "RuleName": "orderflow-dev-all",
        "Priority": 100,
        "FixedRate": 1,
        "ReservoirSize": 1,
        "ServiceName": "*",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "*",
        "URLPath": "*",
        "ResourceARN": "*",
        "Version": 1,
    }


@pytest.mark.parametrize("stage", ["prod", "staging"])
def test_other_stages_keep_the_default_rule(stage: str) -> None:
    template = synth(**{"orderflow:stage": stage})
    template.resource_count_is(SAMPLING_RULE, 0)


def test_a_stage_can_turn_sampling_everything_on() -> None:
    template = synth(
        **{"orderflow:stage": "staging", "orderflow:tracing": '{"sample_everything": true}'}
    )
    template.has_resource_properties(
        SAMPLING_RULE, {"SamplingRule": Match.object_like({"RuleName": "orderflow-staging-all"})}
    )


def test_dev_can_turn_it_off() -> None:
    template = synth(**{"orderflow:tracing": {"sample_everything": False}})
    template.resource_count_is(SAMPLING_RULE, 0)


def test_an_unknown_tracing_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"tracing\.sample_everyting"):
        DeploymentConfig(tracing={"sample_everyting": True})


def test_a_rule_name_longer_than_xray_accepts_is_refused_at_synth() -> None:
    assert sampling_rule_name("a" * 18) == f"orderflow-{'a' * 18}-all"
    with pytest.raises(ValueError, match="longer than 32 characters"):
        sampling_rule_name("a" * 19)


def test_functions_api_and_state_machine_trace(template: Template) -> None:
    # every function of functions/ (CDK's own helpers, e.g. a custom resource's framework,
    # are not ours to trace)
    ours = {
        name: function["Properties"]
        for name, function in resources(template, "AWS::Lambda::Function").items()
        if re.fullmatch(r"\w+\.handlers\.\w+\.handler", function["Properties"].get("Handler", ""))
    }
    assert len(ours) > 10
    assert [name for name, props in ours.items() if props.get("TracingConfig") != ACTIVE] == []
    template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"TracingConfiguration": {"Enabled": True}}
    )
