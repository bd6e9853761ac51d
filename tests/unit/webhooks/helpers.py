"""Calling the webhooks API handler and the two consumers as Lambda does."""

import json
from typing import Any

from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import BASIC_KEY_ID, FakeLambdaContext
from tests.unit.domain_common.sqs import sqs_record
from webhooks.handlers import api, deliver, fan_out


def _context() -> Any:
    """What Lambda passes as the context (the handlers read a few of its attributes)."""
    return FakeLambdaContext()


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = BASIC_KEY_ID,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    event = api_event(
        method,
        path,
        body=body,
        api_key_id=key,
        resource=resource,
        path_parameters=path_parameters,
        query=query,
    )
    response = api.handler(event, _context())
    return response["statusCode"], json_body(response) if response.get("body") else None


def subscribe(url: str, event_types: list[str], key: str = BASIC_KEY_ID) -> dict[str, Any]:
    status, body = call("POST", "/webhooks", {"url": url, "eventTypes": event_types}, key=key)
    assert status == 201, body
    return body


def on(method: str, subscription_id: str, tail: str = "", **kwargs: Any) -> tuple[int, Any]:
    return call(
        method,
        f"/webhooks/{subscription_id}{tail}",
        resource=f"/webhooks/{{id}}{tail}",
        path_parameters={"id": subscription_id},
        **kwargs,
    )


def fan_out_batch(*deliveries: dict[str, Any]) -> dict[str, Any]:
    """``deliveries``: EventBridge events (``tests.sample_events.fresh_delivery``)."""
    records = [sqs_record(delivery) for delivery in deliveries]
    return fan_out.handler({"Records": records}, _context())


def deliver_batch(*messages: dict[str, Any]) -> dict[str, Any]:
    records = [sqs_record(json.dumps(message)) for message in messages]
    return deliver.handler({"Records": records}, _context())
