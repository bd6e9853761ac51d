"""Reading the synthesised template: resources by type, references, policies, definitions."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk.assertions import Template

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def resources(template: Template, type_: str, prefix: str = "") -> Mapping[str, Any]:
    """Resources of ``type_`` whose logical id starts with ``prefix`` (a construct path:
    ``Skeleton``, ``FulfilmentOrders``...)."""
    return {
        name: resource
        for name, resource in template.find_resources(type_).items()
        if name.startswith(prefix)
    }


def arn_target(arn: Any) -> str:
    """The logical id behind ``{"Fn::GetAtt": [id, "Arn"]}``."""
    return arn["Fn::GetAtt"][0]


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that collect what something else failed to process: the DLQ of a queue, of an
    EventBridge rule target, of an event source mapping, of asynchronous invocations, or the
    queue a state machine reports failures to (a plain ``sqs:sendMessage`` task: the only
    other ones wait for a task token)."""
    ids = {
        arn_target(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    for rule in resources(template, "AWS::Events::Rule").values():
        ids |= {
            arn_target(target["DeadLetterConfig"]["Arn"])
            for target in rule["Properties"]["Targets"]
            if "DeadLetterConfig" in target
        }
    for type_ in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"):
        for resource in resources(template, type_).values():
            on_failure = resource["Properties"].get("DestinationConfig", {}).get("OnFailure")
            if on_failure:
                ids.add(arn_target(on_failure["Destination"]))
    for machine in resources(template, "AWS::StepFunctions::StateMachine").values():
        definition = json.loads(render_join(machine["Properties"]["DefinitionString"]))
        ids |= {
            state["Parameters"]["QueueUrl"].strip("<>")
            for state in definition["States"].values()
            if state.get("Resource", "").endswith(":states:::sqs:sendMessage")
        }
    return ids


def policy_statements(
    template: Template, *, identity_only: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (resource name, statement) of the IAM and resource policies in the template."""
    documents: list[tuple[str, dict[str, Any]]] = []
    for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents += [
            (name, r["Properties"]["PolicyDocument"])
            for name, r in resources(template, type_).items()
        ]
    for name, role in resources(template, "AWS::IAM::Role").items():
        documents += [(name, p["PolicyDocument"]) for p in role["Properties"].get("Policies", [])]
    if not identity_only:
        for type_ in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            documents += [
                (name, r["Properties"]["PolicyDocument"])
                for name, r in resources(template, type_).items()
            ]
    for name, document in documents:
        for statement in document["Statement"]:
            yield name, statement


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def render_join(value: dict[str, Any]) -> str:
    """Flattens ``Fn::Join`` into a string: ``Fn::GetAtt [id, attr]`` becomes ``<id.attr>``,
    ``Ref id`` becomes ``<id>`` (pseudo parameters too: ``<AWS::Partition>``)."""
    separator, parts = value["Fn::Join"]
    return separator.join(_render_token(part) for part in parts)


def _render_token(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Fn::GetAtt" in part:
        return "<{}.{}>".format(*part["Fn::GetAtt"])
    if "Ref" in part:
        return "<{}>".format(part["Ref"])
    raise ValueError(f"cannot render {part!r}")


def state_machine_definition(template: Template, prefix: str) -> dict[str, Any]:
    """The parsed definition (ASL) of the one state machine whose logical id starts with
    ``prefix``."""
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", prefix).values()
    definition: dict[str, Any] = json.loads(render_join(machine["Properties"]["DefinitionString"]))
    return definition


def function_ids_by_handler(template: Template) -> dict[str, str]:
    """Logical id of each Lambda function, by handler (``orders.handlers.x.handler``)."""
    return {
        function["Properties"]["Handler"]: name
        for name, function in resources(template, "AWS::Lambda::Function").items()
    }


def function_statements(template: Template, function_id: str) -> list[dict[str, Any]]:
    """The statements of the IAM policies attached to the role of function ``function_id``."""
    function = resources(template, "AWS::Lambda::Function")[function_id]
    role = arn_target(function["Properties"]["Role"])
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def matches_filter(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether an event source mapping's filter ``pattern`` lets ``record`` through.

    The subset of Lambda's filter syntax the stack uses: nested objects, and lists of exact
    values or ``{"prefix": ...}`` rules, one of which the record's value must match. A field
    the record lacks matches nothing.
    """
    for key, rule in pattern.items():
        if key not in record:
            return False
        value = record[key]
        if isinstance(rule, Mapping):
            if not (isinstance(value, Mapping) and matches_filter(rule, value)):
                return False
        elif not any(_matches_value(option, value) for option in rule):
            return False
    return True


def _matches_value(option: Any, value: Any) -> bool:
    if isinstance(option, Mapping):
        [(operator, operand)] = option.items()
        if operator != "prefix":
            raise NotImplementedError(f"filter operator {operator!r}")
        return isinstance(value, str) and value.startswith(operand)
    return bool(option == value)
