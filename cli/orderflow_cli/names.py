"""The names a person reads in ``orderflow trace`` and ``orderflow logs``.

X-Ray names a function's segments, and Powertools its log lines, by the function's physical
name, which CloudFormation generates (``Orderflow-FulfilmentOrdersPlaceOrd-a2defdc5``). Every
function of the stack carries two tags (``infra/lambda_defaults.py``): ``orderflow:service``
(``orders``) and ``orderflow:function`` (``place-order``, unique in the stack), so it reads
``orders/place-order``. The stack's state machine reads ``saga`` (or its tags, if it has them);
anything else (the API stage ``orderflow-api/prod``, ``DynamoDB``, another stack's function)
keeps its name, shortened when it is a generated one (``short_names``).

Resolved once per command run (cached on the ``StackRef``) with the fewest calls: the stack's
resources (``ListStackResources``, which ``orderflow logs`` lists anyway) name the functions'
physical names, and the stack's template (``GetTemplate``, one call) holds the tags
CloudFormation gave each of them, so no call per function (``GetFunction`` or ``ListTags`` per
function took 20-odd calls for the same answer). A name that cannot be resolved (no stack, no
permission, a resource without the tags) falls back to the shortening; resolving never fails
a command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orderflow_cli.stack import StackRef

SERVICE_TAG = "orderflow:service"
"""As ``infra.lambda_defaults.SERVICE_TAG`` tags every function (a unit test holds them equal:
the CLI does not import the CDK app)."""
FUNCTION_TAG = "orderflow:function"
"""As ``infra.lambda_defaults.FUNCTION_TAG``."""
STATE_MACHINE = "saga"
"""What the stack's one state machine reads as when it has no tags of its own."""
CACHE_KEY = "display-names"


@dataclass(frozen=True)
class DisplayNames:
    """Physical name (a function's name, a state machine's name) -> the name people read."""

    known: dict[str, str] = field(default_factory=dict)

    def resolved(self, name: str) -> bool:
        return name in self.known

    def labels(self, names: Iterable[str]) -> dict[str, str]:
        """Every name -> its label: the readable name of a resolved one, else ``short_names``
        (over the unresolved names only: their common prefix is theirs)."""
        names = set(names)
        unknown = short_names(name for name in names if name not in self.known)
        return unknown | {name: self.known[name] for name in names if name in self.known}


NO_NAMES = DisplayNames()


def display_names(stack: StackRef) -> DisplayNames:
    """The stack's readable names, resolved on the first call of a command run."""
    cached = stack.cache.get(CACHE_KEY)
    if isinstance(cached, DisplayNames):
        return cached
    try:
        found = names_of(stack.resources(), _template(stack))
    except (ClientError, BotoCoreError, ValueError):
        found = NO_NAMES  # no stack, no permission, a template not JSON: the shortening
    stack.cache[CACHE_KEY] = found
    return found


def _template(stack: StackRef) -> dict[str, Any]:
    body = stack.client("cloudformation").get_template(
        StackName=stack.name, TemplateStage="Processed"
    )["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body  # boto3 parses JSON ones
    if not isinstance(template, dict):
        raise ValueError("the template is not a JSON object")
    return template


def names_of(resources: list[dict[str, Any]], template: dict[str, Any]) -> DisplayNames:
    """ListStackResources' summaries and the template -> the readable names."""
    definitions = template.get("Resources") or {}
    known: dict[str, str] = {}
    machines: list[str] = []
    for resource in resources:
        physical = resource.get("PhysicalResourceId")
        kind = resource.get("ResourceType")
        if not physical or kind not in {
            "AWS::Lambda::Function",
            "AWS::StepFunctions::StateMachine",
        }:
            continue
        definition = definitions.get(resource.get("LogicalResourceId"), {})
        tags = _tags(definition.get("Properties", {}) if isinstance(definition, dict) else {})
        name = str(physical).rsplit(":", 1)[-1]  # a state machine's physical id is its ARN
        if readable := _readable(tags):
            known[name] = readable
        elif kind == "AWS::StepFunctions::StateMachine":
            machines.append(name)
    if len(machines) == 1:  # several untagged ones would all read "saga": left to shortening
        known[machines[0]] = STATE_MACHINE
    return DisplayNames(known)


def _tags(properties: Any) -> dict[str, str]:
    """A resource's literal tags: a function's ``Tags`` list (``Key``/``Value``), a state
    machine's (``Key``/``Value`` too)."""
    found: dict[str, str] = {}
    tags = properties.get("Tags") if isinstance(properties, dict) else None
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and isinstance(tag.get("Value"), str):
            found[str(tag.get("Key"))] = tag["Value"]
    return found


def _readable(tags: dict[str, str]) -> str | None:
    service, function = tags.get(SERVICE_TAG), tags.get(FUNCTION_TAG)
    if service and function:
        return f"{service}/{function}"
    return function or service or None


# --- the fallback: shortening a generated name ---------------------------------------------

GENERATED_SUFFIX = re.compile(r"-(?:[0-9a-f]{8}|(?=[A-Z0-9]*\d)[A-Z0-9]{12,13})$")
"""The suffix CloudFormation makes a generated physical name unique with: 8 hex digits on the
emulator (``Orderflow-FulfilmentOrdersPlaceOrd-e660ea75``), 12-13 upper-case letters and
digits on AWS."""


def short_names(names: Iterable[str]) -> dict[str, str]:
    """Readable labels for generated resource names: without the generated suffix, and
    without the prefix most of them share (``Orderflow-Fulfilment``), so that
    ``Orderflow-FulfilmentOrdersPlaceOrd-e660ea75`` reads ``OrdersPlaceOrd``. Names that
    are not generated stay as they are; the full name stays in the JSON and the tooltips."""
    names = sorted(set(names))
    trimmed = {name: GENERATED_SUFFIX.sub("", name) for name in names}
    generated = [trimmed[name] for name in names if trimmed[name] != name]
    prefix = _common_prefix(generated) if len(generated) > 1 else ""
    if len(prefix) < 4 or any(len(name) - len(prefix) < 3 for name in generated):
        prefix = ""
    return {
        name: trimmed[name].removeprefix(prefix) if trimmed[name] != name else name
        for name in names
    }


def _common_prefix(names: list[str]) -> str:
    """The characters every name starts with."""
    shortest = min(names, key=len)
    for index, char in enumerate(shortest):
        if any(name[index] != char for name in names):
            return shortest[:index]
    return shortest
