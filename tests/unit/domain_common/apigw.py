"""Minimal API Gateway REST (v1) proxy events, as Lambda receives them."""

import json
from typing import Any


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    api_key_id: str | None = "key-basic",
    customer: str | None = None,
) -> dict[str, Any]:
    """``api_key_id``: what API Gateway puts in ``requestContext.identity`` once it validated
    the caller's key (None: no key, as on a method that does not require one); ``customer``:
    send a valid customer token naming them (``Authorization: Bearer``)."""
    if customer is not None:
        from tests.unit.domain_common.identity import bearer

        headers = {**bearer(customer), **(headers or {})}
    identity: dict[str, Any] = {"sourceIp": "127.0.0.1"}
    if api_key_id is not None:
        identity |= {"apiKeyId": api_key_id, "apiKey": f"value-of-{api_key_id}"}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {key: [value] for key, value in query.items()} if query else None
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "1234567890",
            "identity": identity,
        },
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
    }


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
