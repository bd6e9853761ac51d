"""HTTP pieces every API route shares: the resolver, error bodies, rate-limit headers, and the
OpenAPI descriptions of the responses the edge adds to every operation."""

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)

from edge.models import (
    SECONDS_PER_DAY,
    ErrorBody,
    FieldError,
    GatewayError,
    Limit,
    RateLimited,
    Verdict,
)

API_KEY_HEADER = "x-api-key"

# Where Powertools puts a request parameter it could not validate: ("query", "inStock").
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def api_resolver(*routers: Router) -> APIGatewayRestResolver:
    """A REST API resolver that parses requests into the routes' pydantic models and answers
    400 with one error per field when they do not fit, unknown query parameters included. A
    route whose answer does not fit its declared type is a bug of ours: 500, never a 4xx."""
    app = APIGatewayRestResolver(
        enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR
    )
    app.use(middlewares=[known_query_parameters_only])
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        return invalid_request(exc.errors())

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON",
            [FieldError(field="Content-Type", problem="must be application/json")],
        )

    return app


def known_query_parameters_only(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response:
    """400 for query parameters the route does not declare: a misspelt ``?instock=true`` is an
    error, not a filter silently ignored."""
    route = app.context.get("_route")
    declared = {field.alias for field in route.dependant.query_params} if route else set()
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - declared)
    if unknown:
        return bad_request(
            "invalid request",
            [FieldError(field=name, problem="unknown query parameter") for name in unknown],
        )
    return next_middleware(app)


# -- error responses -------------------------------------------------------------------------


def field_path(location: Iterable[int | str]) -> str:
    """('body', 'items', 0, 'sku') -> 'items[0].sku'; the body as a whole is 'body'."""
    parts = list(location)
    if parts and parts[0] in _LOCATIONS:
        where, parts = parts[0], parts[1:]
        if not parts:
            return str(where)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def error_response(
    status: HTTPStatus,
    message: str,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(message=message, errors=list(errors)).model_dump(mode="json", by_alias=True),
        headers=dict(headers or {}),
    )


def bad_request(message: str, errors: Iterable[FieldError]) -> Response:
    return error_response(HTTPStatus.BAD_REQUEST, message, errors)


def invalid_request(errors: Iterable[Mapping[str, Any]]) -> Response:
    """400 for pydantic / Powertools validation errors: malformed JSON is a problem of ``body``,
    everything else names its field (``items[2].quantity``, ``inStock``, ``Idempotency-Key``)."""
    problems = []
    for error in errors:
        problem = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            problem = f"not valid JSON: {error.get('ctx', {}).get('error', problem)}"
            location: Iterable[int | str] = ("body",)
        else:
            location = error.get("loc", ())
        problems.append(FieldError(field=field_path(location), problem=problem))
    return bad_request("invalid request", problems)


# -- conditional requests --------------------------------------------------------------------


def if_none_match(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag``: ``*``, or a list of entity tags,
    compared weakly (RFC 9110 13.1.2: ``W/"x"`` matches ``"x"``). A GET it names is answered
    304 without a body."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


# -- rate limits -----------------------------------------------------------------------------


def rate_limit_headers(verdict: Verdict) -> dict[str, str]:
    """``RateLimit-*`` (IETF draft ``ratelimit-headers``): the bucket's size, what is left of it
    and when it is full again; the policy lists the burst window and the daily quota."""
    limits = verdict.limits
    headers = {
        "RateLimit-Limit": str(limits.burst),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_s),
        "RateLimit-Policy": (
            f"{limits.burst};w={limits.window_s}, {limits.daily_quota};w={SECONDS_PER_DAY}"
        ),
        "X-RateLimit-Plan": verdict.plan,
        "X-Quota-Limit": str(limits.daily_quota),
        "X-Quota-Remaining": str(verdict.quota_remaining),
    }
    if not verdict.admitted:
        headers["Retry-After"] = str(verdict.retry_after_s)
    return headers


def too_many_requests(verdict: Verdict) -> dict[str, Any]:
    """The 429 proxy response for a refused request."""
    limits = verdict.limits
    if verdict.exceeded is Limit.QUOTA:
        message = f"daily quota of plan {verdict.plan} ({limits.daily_quota} requests) used up"
    else:
        message = (
            f"rate limit of plan {verdict.plan} exceeded "
            f"({limits.rate:g} requests/s, bursts of {limits.burst})"
        )
    body = RateLimited(
        message=f"{message}; retry in {verdict.retry_after_s} s", retry_after=verdict.retry_after_s
    )
    return proxy_response(
        HTTPStatus.TOO_MANY_REQUESTS, body.model_dump(by_alias=True), rate_limit_headers(verdict)
    )


def proxy_response(
    status: HTTPStatus, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda proxy response built without a resolver (the edge answers before routing)."""
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def with_headers(response: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """``response`` (a proxy response) with ``headers`` added, in whichever header map it uses."""
    if isinstance(response.get("multiValueHeaders"), dict):
        response["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    else:
        response["headers"] = {**(response.get("headers") or {}), **headers}
    return response


# -- OpenAPI ---------------------------------------------------------------------------------


def response_header(description: str) -> OpenAPIResponseHeader:
    return {"description": description, "schema": {"type": "string"}}


RATE_LIMIT_RESPONSE_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "RateLimit-Limit": response_header("Requests a full bucket admits at once (the plan's burst)"),
    "RateLimit-Remaining": response_header("Requests the bucket admits right now"),
    "RateLimit-Reset": response_header("Seconds until the bucket is full again"),
    "RateLimit-Policy": response_header("`<burst>;w=<seconds to refill>, <daily quota>;w=86400`"),
    "X-RateLimit-Plan": response_header("The caller's usage plan"),
    "X-Quota-Limit": response_header("Requests admitted per UTC day"),
    "X-Quota-Remaining": response_header("Requests left today"),
}


def json_content(model: type) -> dict[str, Any]:
    return {content_types.APPLICATION_JSON: {"model": model}}


def edge_responses(*extra: int) -> dict[int, OpenAPIResponse]:
    """The responses every route may give: 400 (invalid request), 403 (API Gateway: no or an
    invalid API key), 429 (rate limit or quota), plus ``extra`` ones described here."""
    responses: dict[int, OpenAPIResponse] = {
        400: {
            "description": "Invalid request; `errors` names each field at fault",
            "content": json_content(ErrorBody),
            "headers": RATE_LIMIT_RESPONSE_HEADERS,
        },
        403: {
            "description": "Missing or invalid API key (send it in the `x-api-key` header)",
            "content": json_content(GatewayError),
        },
        429: {
            "description": "Rate limit or daily quota of the key's plan exceeded",
            "content": json_content(RateLimited),
            "headers": {
                "Retry-After": response_header("Seconds to wait before retrying"),
                **RATE_LIMIT_RESPONSE_HEADERS,
            },
        },
    }
    described: dict[int, OpenAPIResponse] = {
        404: {"description": "Not found", "content": json_content(ErrorBody)},
        409: {
            "description": "A request with the same Idempotency-Key is still in progress; "
            "retry after `Retry-After` seconds",
            "content": json_content(ErrorBody),
            "headers": {"Retry-After": response_header("Seconds to wait before retrying")},
        },
        413: {
            "description": "Request body too large",
            "content": json_content(ErrorBody),
        },
        415: {
            "description": "The body is not `application/json`",
            "content": json_content(ErrorBody),
        },
        422: {
            "description": "The Idempotency-Key was already used with a different body",
            "content": json_content(ErrorBody),
        },
    }
    for status in extra:
        responses[status] = described[status]
    return responses
