"""The orders API's OpenAPI document, generated from the routes and pydantic models the Lambda
functions run, and committed as ``docs/openapi.json``.

    make openapi          # regenerate docs/openapi.json after changing a route or a model

``tests/unit/test_openapi.py`` fails when the committed file differs from what this generates;
``tests/integration/test_api_edge.py`` fuzzes the deployed API against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
DOCUMENT = ROOT / "docs" / "openapi.json"
TITLE = "orderflow orders API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Place and follow orders, list the catalogue, subscribe to events (webhooks). Every "
    "operation needs an API key (`x-api-key` header); each key's usage plan sets its rate "
    "limit, burst and daily quota, reported in the `RateLimit-*` headers of every answer. "
    "Placing and following orders also needs a customer token (`Authorization: Bearer <JWT>`), "
    "verified against the stage's keys (`GET /.well-known/jwks.json`, no API key). See the "
    "README."
)

# Powertools documents a 422 "Validation Error" for every validated route; the edge answers
# validation errors with 400 instead, so the generic 422 goes (POST /orders' own 422, about a
# reused Idempotency-Key, stays). It also documents the 500 a route answers when its own
# response does not fit its declared type: a bug, not part of the contract.
PUBLIC_PATHS = ("/.well-known/jwks.json", "/webhooks/payments")
"""Operations without an API key or token (Powertools drops a route's empty ``security``): the
stage's public JWKS, and the payment provider's webhook, which its signature authenticates."""

_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def document() -> dict[str, Any]:
    if str(FUNCTIONS) not in sys.path:  # the handlers import as they do in the Lambda bundle
        sys.path.insert(0, str(FUNCTIONS))
    from aws_lambda_powertools.event_handler.openapi.models import (
        APIKey,
        APIKeyIn,
        HTTPBearer,
        Server,
    )

    from edge.http import API_KEY_HEADER, api_resolver
    from edge.identity import SECURITY_SCHEME
    from identity.handlers import jwks
    from inventory.handlers import list_products
    from orders.handlers import get_order, place_order
    from payments.handlers import payment_webhook
    from webhooks.handlers import api as webhooks_api

    app = api_resolver(
        place_order.router,
        get_order.router,
        list_products.router,
        webhooks_api.router,
        jwks.router,
        payment_webhook.router,
    )
    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            servers=[Server(url="/prod", description="the API's stage")],
            security_schemes={
                "apiKey": APIKey(name=API_KEY_HEADER, in_=APIKeyIn.header),
                SECURITY_SCHEME: HTTPBearer(
                    bearerFormat="JWT",
                    description="A customer token (ES256 JWT of the stage's issuer; "
                    "`orderflow token --customer <id>` on dev); its `sub` is the customer",
                ),
            },
            security=[{"apiKey": []}],
        )
    )
    for path in PUBLIC_PATHS:
        for operation in schema["paths"][path].values():
            operation["security"] = []
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            for status, component in (
                ("422", "HTTPValidationError"),
                ("500", "ResponseValidationError"),
            ):
                if component in json.dumps(responses.get(status, {})):
                    del responses[status]
    schemas = schema["components"]["schemas"]
    _document_payment_webhook(schema["paths"]["/webhooks/payments"]["post"], schemas)
    unused: list[str] = list(_POWERTOOLS_ONLY)
    while unused:  # they refer to one another: drop until every one left is used
        text = json.dumps(schema)
        unused = [n for n in _POWERTOOLS_ONLY if n in schemas and f'schemas/{n}"' not in text]
        for name in unused:
            del schemas[name]
    return schema


def _document_payment_webhook(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """POST /webhooks/payments is the payment provider's, not a client's: no API key (its
    Standard Webhooks signature authenticates it), and its body is read raw (the signature
    covers the exact bytes), so Powertools neither sees the body's model nor says so."""
    from payments.models import PaymentConfirmation

    body = PaymentConfirmation.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas.update(body.pop("$defs", {}))
    schemas[PaymentConfirmation.__name__] = body
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{PaymentConfirmation.__name__}"}
            }
        },
    }
    operation["parameters"] = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, description in (
            ("webhook-id", "The message's id, the same on every retry (replays are refused)"),
            ("webhook-timestamp", "Unix seconds of this attempt, within the tolerance of now"),
            (
                "webhook-signature",
                "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated",
            ),
        )
    ]


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    DOCUMENT.write_text(render())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
