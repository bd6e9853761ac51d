"""``AWS::XRay::SamplingRule`` in a CloudFormation template, deployed on the emulator
(LocalStack's CloudFormation has no provider for it: the resource would deploy as a no-op and
the rule never exist). Create, update and delete through the emulator's X-Ray API
(``provider.py``); ``Ref`` and ``Fn::GetAtt RuleARN`` give the rule's ARN.

Served through ``cloudformation_resources.serve``, like the archive and dashboard resources.
"""

from __future__ import annotations

import contextlib
from typing import Any

from orderflow_hostexec import cloudformation_resources

RULE_TYPE = "AWS::XRay::SamplingRule"

RULE_SCHEMA: dict[str, Any] = {
    "typeName": RULE_TYPE,
    "properties": {
        "SamplingRule": {"type": "object"},
        "RuleName": {"type": "string"},
        "RuleARN": {"type": "string"},
        "Tags": {"type": "array"},
    },
    "readOnlyProperties": ["/properties/RuleARN"],
    "primaryIdentifier": ["/properties/RuleARN"],
}

_INTEGERS = ("Priority", "ReservoirSize", "Version")


def rule_fields(model: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The API's ``SamplingRule`` from the resource's properties (CloudFormation passes
    numbers as strings at times)."""
    rule = dict(model.get("SamplingRule") or {})
    rule.setdefault("RuleName", model.get("RuleName") or logical_id[:32])
    for key in _INTEGERS:
        if key in rule:
            rule[key] = int(rule[key])
    if "FixedRate" in rule:
        rule["FixedRate"] = float(rule["FixedRate"])
    return rule


def _rule_provider_class() -> type:
    from localstack.services.cloudformation.resource_provider import (
        OperationStatus,
        ProgressEvent,
        ResourceProvider,
    )

    class SamplingRuleProvider(ResourceProvider):
        TYPE = RULE_TYPE
        SCHEMA = RULE_SCHEMA

        def create(self, request: Any) -> Any:
            model = request.desired_state
            rule = rule_fields(model, request.logical_resource_id)
            client = request.aws_client_factory.xray
            tags = model.get("Tags") or []
            created = client.create_sampling_rule(SamplingRule=rule, Tags=tags)
            model["RuleARN"] = created["SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
            model["RuleName"] = rule["RuleName"]
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def read(self, request: Any) -> Any:
            raise NotImplementedError

        def update(self, request: Any) -> Any:
            model = request.desired_state
            rule = rule_fields(model, request.logical_resource_id)
            previous = request.previous_state
            rule.pop("Version", None)
            rule["RuleName"] = previous["RuleName"]
            request.aws_client_factory.xray.update_sampling_rule(SamplingRuleUpdate=rule)
            model["RuleARN"], model["RuleName"] = previous["RuleARN"], previous["RuleName"]
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def delete(self, request: Any) -> Any:
            model = request.previous_state
            client = request.aws_client_factory.xray
            with contextlib.suppress(client.exceptions.InvalidRequestException):
                client.delete_sampling_rule(RuleARN=model["RuleARN"])
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})

    return SamplingRuleProvider


def provide_sampling_rule_resource() -> None:
    cloudformation_resources.serve(RULE_TYPE, _rule_provider_class())
