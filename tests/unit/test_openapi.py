"""docs/openapi.json is what the code generates: routes and models are the only source."""

import json

from tools import openapi


def test_committed_openapi_document_is_the_generated_one():
    # When the document is generated from the handlers' routes and models
    generated = openapi.render()
    # Then the committed file is identical (run `make openapi` after changing a route or model)
    assert openapi.DOCUMENT.read_text() == generated


def test_document_describes_the_edge_on_every_operation():
    document = json.loads(openapi.DOCUMENT.read_text())
    assert document["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    operations = [
        op
        for name, path in document["paths"].items()
        for op in path.values()
        if name not in openapi.PUBLIC_PATHS
    ]
    assert (
        len(operations) == 11
    )  # orders, products, and the eight of webhooks (JWKS and payment webhook: none)
    for operation in operations:
        responses = operation["responses"]
        assert {"400", "403", "429"} <= set(responses)
        assert "Retry-After" in responses["429"]["headers"]
        assert not any(status.startswith("5") for status in responses)
    place = document["paths"]["/orders"]["post"]
    assert {"409", "413", "422"} <= set(place["responses"])
    body = document["components"]["schemas"]["PlaceOrderRequest"]
    assert body["additionalProperties"] is False
    assert body["properties"]["items"]["maxItems"] == 25


def test_customer_routes_need_a_token_and_the_jwks_none():
    document = json.loads(openapi.DOCUMENT.read_text())
    assert document["components"]["securitySchemes"]["customerToken"]["scheme"] == "bearer"
    paths = document["paths"]
    for path, method in (("/orders", "post"), ("/orders/{orderId}", "get")):
        operation = paths[path][method]
        assert operation["security"] == [{"apiKey": [], "customerToken": []}]
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert "security" not in paths["/products"]["get"]  # the API key only (document-wide)
    assert paths["/.well-known/jwks.json"]["get"]["security"] == []


def test_the_payment_webhook_is_signed_not_keyed():
    document = json.loads(openapi.DOCUMENT.read_text())
    webhook = document["paths"]["/webhooks/payments"]["post"]
    assert webhook["security"] == []
    assert {p["name"] for p in webhook["parameters"]} == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert {"200", "400", "401", "404"} <= set(webhook["responses"])
    assert not any(status.startswith("5") for status in webhook["responses"])
    body = webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][body.rsplit("/", 1)[1]]["required"] == [
        "type",
        "timestamp",
        "data",
    ]
