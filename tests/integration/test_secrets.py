"""No secret value leaves Secrets Manager: every secret of the stage (``orderflow/<stage>/...``,
whoever created it: the dev signing key, webhook signing secrets, provider credentials) is read,
and none of its values may appear in a deployed function's configuration, the stack's outputs,
its template, or the logs of a run that places an order (and is refused a bad token).

Generic on purpose: a secret added later is covered without touching this test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product

PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
"""The secret members of a JWK (RFC 7518 §6); its other members are public (the JWKS)."""
MIN_LENGTH = 8
"""Shorter leaves (``"EC"``, ``"ES256"``, a port) are not secrets worth searching for."""
STACK = "Orderflow"


def sensitive_values(value: str) -> set[str]:
    """What must never appear outside the secret: the whole value and, for JSON, every string
    leaf (of a JWK, its private members only)."""
    found = {value}
    try:
        parsed = json.loads(value)
    except ValueError:
        return found
    found.update(_leaves(parsed))
    return {v for v in found if len(v) >= MIN_LENGTH}


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        members = PRIVATE_JWK_MEMBERS if "kty" in node else tuple(node)
        for name in members:
            if name in node:
                yield from _leaves(node[name])
    elif isinstance(node, list):
        for item in node:
            yield from _leaves(item)
    elif isinstance(node, str):
        yield node


def stage_secrets(stage: str) -> dict[str, set[str]]:
    """Every secret named ``orderflow/<stage>/...``, with its sensitive values."""
    secrets = client("secretsmanager")
    prefix = f"orderflow/{stage}/"
    names = [
        secret["Name"]
        for page in secrets.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}]
        )
        for secret in page["SecretList"]
        if secret["Name"].startswith(prefix)
    ]
    return {
        name: sensitive_values(secrets.get_secret_value(SecretId=name)["SecretString"])
        for name in names
    }


def stack_resources(resource_type: str) -> list[str]:
    pages = client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=STACK)
    return [
        resource["PhysicalResourceId"]
        for page in pages
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == resource_type and resource.get("PhysicalResourceId")
    ]


def log_messages(group: str) -> list[str]:
    logs = client("logs")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        return [event["message"] for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []  # a function never invoked has no log group yet


@pytest.fixture(scope="module")
def secrets(outputs: dict[str, str]) -> dict[str, set[str]]:
    stage = outputs["BusName"].removeprefix("orderflow-")
    found = stage_secrets(stage)
    # the check can fail: the stage has secrets, the dev signing key's private `d` among them
    assert outputs["DevSigningKeySecretName"] in found, found.keys()
    key_set = json.loads(
        client("secretsmanager").get_secret_value(SecretId=outputs["DevSigningKeySecretName"])[
            "SecretString"
        ]
    )
    assert key_set["keys"][0]["d"] in found[outputs["DevSigningKeySecretName"]]
    return found


def leaks(text: str, secrets: dict[str, set[str]]) -> list[str]:
    """The names of the secrets some value of which is in ``text`` (never the value itself:
    a failing test must not print the secret)."""
    return sorted(name for name, values in secrets.items() if any(v in text for v in values))


def test_no_function_configuration_holds_a_secret(secrets: dict[str, set[str]]) -> None:
    lambda_client = client("lambda")
    functions = stack_resources("AWS::Lambda::Function")
    assert len(functions) > 10
    for name in functions:
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        assert not leaks(json.dumps(configuration, default=str), secrets), name


def test_no_output_or_template_holds_a_secret(
    outputs: dict[str, str], secrets: dict[str, set[str]]
) -> None:
    cloudformation = client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    assert not leaks(json.dumps(stack.get("Outputs", []), default=str), secrets)
    assert not leaks(json.dumps(outputs), secrets)
    template = cloudformation.get_template(StackName=STACK)["TemplateBody"]
    assert not leaks(template if isinstance(template, str) else json.dumps(template), secrets)


def test_no_log_of_a_run_holds_a_secret(
    outputs: dict[str, str],
    api_keys: dict[str, str],
    stage_issuer: StageIssuer,
    lambda_client: Any,
    secrets: dict[str, set[str]],
) -> None:
    api = KeyedApi(
        local_api_url(outputs["OrdersApiId"]),
        api_keys["premium"],
        f"it-secrets-{uuid.uuid4().hex[:8]}",
        stage_issuer,
    )
    sku = stocked_product(lambda_client, outputs)
    # Given a run: an order placed and confirmed, a token refused, the signing key re-ensured
    placed = api.request(
        "POST", "/orders", {"items": [{"sku": sku, "quantity": 1}], "paymentToken": "tok_ok"}
    )
    assert placed.status == 202, placed.body
    order_id = placed.body["orderId"]
    eventually(
        lambda: api.request("GET", f"/orders/{order_id}").body.get("status") == "CONFIRMED",
        timeout_s=90,
    )
    refused = api.request("GET", f"/orders/{order_id}", headers={"Authorization": "Bearer x.y.z"})
    assert refused.status == 401
    response = lambda_client.invoke(
        FunctionName=outputs["DevSigningKeyFunctionName"],
        Payload=json.dumps({"RequestType": "Update", "ResourceProperties": {}}).encode(),
    )
    assert "FunctionError" not in response
    groups = {f"/aws/lambda/{name}" for name in stack_resources("AWS::Lambda::Function")}
    groups |= set(stack_resources("AWS::Logs::LogGroup"))
    # When the run's logs are there (the order's placement, the key function's run)
    eventually(
        lambda: any(order_id in m for g in groups for m in log_messages(g) if "placed" in m),
        timeout_s=60,
        every_s=2,
    )
    messages = {group: log_messages(group) for group in sorted(groups)}
    assert any("dev signing key ready" in m for ms in messages.values() for m in ms)
    # Then no log event of any of the stack's log groups holds a secret value
    for group, lines in messages.items():
        for line in lines:
            assert not leaks(line, secrets), group
