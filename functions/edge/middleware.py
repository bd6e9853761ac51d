"""``api_edge``: what every API function does before its resolver sees a request.

``api_handler`` wraps an API function's resolver in the service's logger, tracer and metrics
and in ``api_edge``.

1. Rate limiting (unless ``RATE_LIMIT_ENABLED=false``): the caller's API key id comes from
   ``requestContext.identity.apiKeyId``, which API Gateway sets once it has validated the
   ``x-api-key`` header against a usage plan of the stage (on AWS and on the emulator). No key
   id: 403. A refused request: 429 with ``Retry-After``. Every other answer carries the
   ``RateLimit-*`` headers.
2. Customer token (``customer_token``): the route acts for a customer, who must be named by a
   verified JWT (``edge.identity``): 401 otherwise (after rate limiting, so guessing tokens
   costs the client its quota); the customer id is put in
   ``requestContext.authorizer.principalId``.
3. Body size: a body over ``max_body_bytes`` is refused with 413 before it is parsed.
4. Body shape: with ``object_body``, a body that is not UTF-8 or is JSON but not an object (an
   array, a string) is a 400 (Powertools would fail on the first, and validate the first
   element of an array as if it were the body).
"""

import base64
import binascii
import json
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from aws_lambda_powertools.utilities.typing import LambdaContext

from edge.dal import get_bucket_store
from edge.http import (
    API_KEY_HEADER,
    proxy_response,
    rate_limit_headers,
    too_many_requests,
    with_headers,
)
from edge.identity import authenticate, authorize, unauthorized
from edge.limiter import RateLimiter
from edge.logic.tokens import TokenRejected
from edge.models import ErrorBody, FieldError
from edge.settings import get_settings
from shared_kernel.observability import logger, metrics, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@cache
def get_limiter() -> RateLimiter:
    return RateLimiter(get_bucket_store())


@lambda_handler_decorator
def api_edge(
    handler: Handler,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    max_body_bytes: int | None = None,
    object_body: bool = False,
    customer_token: bool = False,
) -> dict[str, Any]:
    settings = get_settings()
    headers: dict[str, str] = {}
    if settings.rate_limit_enabled:
        identity = (event.get("requestContext") or {}).get("identity") or {}
        api_key_id = identity.get("apiKeyId")
        if not api_key_id:
            return proxy_response(
                HTTPStatus.FORBIDDEN,
                {
                    "message": f"missing or invalid API key: send your key in the {API_KEY_HEADER} "
                    "header"
                },
            )
        plan = settings.plan_of(api_key_id)
        verdict = get_limiter().check(api_key_id, plan, settings.rate_limit_plans[plan])
        if not verdict.admitted:
            logger.info(
                "request refused",
                extra={"api_key_id": api_key_id, "plan": plan, "exceeded": verdict.exceeded},
            )
            return too_many_requests(verdict)
        headers = rate_limit_headers(verdict)
    if customer_token:
        try:
            authorize(event, authenticate(event))
        except TokenRejected as rejection:
            logger.info("customer token rejected", extra={"problem": rejection.description})
            return unauthorized(rejection, headers)
    if max_body_bytes is not None and _body_size(event) > max_body_bytes:
        body = ErrorBody(
            message="request body too large",
            errors=[FieldError(field="body", problem=f"larger than {max_body_bytes} bytes")],
        )
        return proxy_response(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, body.model_dump(by_alias=True), headers
        )
    problem = _body_problem(event) if object_body else None
    if problem is not None:
        body = ErrorBody(
            message="invalid request", errors=[FieldError(field="body", problem=problem)]
        )
        return proxy_response(HTTPStatus.BAD_REQUEST, body.model_dump(by_alias=True), headers)
    return with_headers(handler(event, context), headers)


def api_handler(
    app: APIGatewayRestResolver,
    *,
    max_body_bytes: int | None = None,
    object_body: bool = False,
    customer_token: bool = False,
) -> Handler:
    """The Lambda handler of an API function: observability, then ``api_edge``, then ``app``.

    Every API function's ``handler`` is ``api_handler(api_resolver(router), ...)``;
    ``customer_token=True`` for a route that acts for a customer (``edge.identity``)."""

    @metrics.log_metrics
    @tracer.capture_lambda_handler
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
    )
    @api_edge(max_body_bytes=max_body_bytes, object_body=object_body, customer_token=customer_token)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


def _body_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with a body that must be a JSON object, as far as the resolver would not
    say it well: bytes that are not UTF-8 (API Gateway hands them over base64-encoded), JSON
    that is not an object. Malformed JSON is the resolver's to report (it names the position),
    an absent body the model's (a required body)."""
    body = event.get("body")
    if not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "not UTF-8 encoded JSON"
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return None if parsed is None or isinstance(parsed, dict) else "must be a JSON object"


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    size = len(body.encode()) if isinstance(body, str) else len(body)
    return size * 3 // 4 if event.get("isBase64Encoded") else size
