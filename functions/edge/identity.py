"""Customer identity at the edge: the routes that act for a customer (``POST /orders``,
``GET /orders/{orderId}``) need ``Authorization: Bearer <JWT>`` besides the client's API key.

The API key says which client application calls (and its plan: rate limits); the token says
for which customer. ``api_edge(customer_token=True)`` verifies the token (``logic/tokens.py``)
and puts the customer where an API Gateway authorizer would: ``requestContext.authorizer``,
``principalId`` the token's ``sub`` and ``claims`` the verified claims (overwriting whatever
the event carried there). A route reads the customer with ``customer_id(event)``.

A rejected token is a 401 ``{"message", "errors": [{"field": "Authorization", ...}]}`` with
``WWW-Authenticate: Bearer realm="orderflow", error="invalid_token",
error_description="..."`` (RFC 6750; without an error code when no token was sent).
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from edge.dal import get_signing_keys
from edge.http import proxy_response
from edge.logic.tokens import TokenPolicy, TokenRejected, bearer_token, verify
from edge.models import ErrorBody, FieldError
from edge.settings import get_identity_settings

AUTHORIZATION_HEADER = "Authorization"
REALM = "orderflow"
SECURITY_SCHEME = "customerToken"
CUSTOMER_ROUTE_SECURITY: list[dict[str, list[str]]] = [{"apiKey": [], SECURITY_SCHEME: []}]
"""OpenAPI ``security`` of a customer's route: the client's API key and the customer's token."""


def authenticate(event: dict[str, Any]) -> dict[str, Any]:
    """The verified claims of the request's customer token; raises TokenRejected."""
    settings = get_identity_settings()
    policy = TokenPolicy(settings.issuer, settings.audience, settings.leeway_seconds)
    return verify(bearer_token(event.get("headers")), get_signing_keys(), policy)


def authorize(event: dict[str, Any], claims: Mapping[str, Any]) -> None:
    """Put the customer in ``requestContext.authorizer``, as an API Gateway authorizer does."""
    context = event.setdefault("requestContext", {})
    context["authorizer"] = {"principalId": claims["sub"], "claims": dict(claims)}


def customer_id(event: BaseProxyEvent) -> str:
    """The customer the edge authenticated (a route behind ``customer_token=True``)."""
    principal = cast(APIGatewayProxyEvent, event).request_context.authorizer.principal_id
    if not principal:
        raise RuntimeError("no authenticated customer: is the route behind customer_token?")
    return principal


def unauthorized(rejection: TokenRejected, headers: Mapping[str, str]) -> dict[str, Any]:
    """The 401 for a rejected (or missing) token."""
    challenge = f'Bearer realm="{REALM}"'
    if not rejection.missing:
        description = rejection.description.replace('"', "'")
        challenge += f', error="invalid_token", error_description="{description}"'
    body = ErrorBody(
        message=rejection.description,
        errors=[FieldError(field=AUTHORIZATION_HEADER, problem=rejection.description)],
    )
    return proxy_response(
        HTTPStatus.UNAUTHORIZED,
        body.model_dump(by_alias=True),
        {**headers, "WWW-Authenticate": challenge},
    )
