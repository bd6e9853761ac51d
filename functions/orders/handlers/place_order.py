"""POST /orders: price the order, store it with its OrderPlaced event (outbox), answer 202.

Body `PlaceOrderRequest` {items: [{sku, quantity}] (1..25), paymentToken}, no other fields, at
most 16 KiB. The customer is the one the bearer token names (`Authorization: Bearer <JWT>`, its
`sub`; 401 without a valid one, see edge.identity): a `customerId` in the body is refused (400
naming it), so a client cannot place an order for a customer other than the token's.
202 {orderId, status} with `Location` and `X-Correlation-Id` headers.
400 {message, errors: [{field, problem}]} for malformed JSON, a missing or mistyped field, an
unknown field or SKU (`items[2].sku`); 413 for a larger body. The correlation id is the
`X-Correlation-Id` request header, or API Gateway's request id.

`Idempotency-Key` header (optional): the first request with a key places the order; the same
key with the same body within IDEMPOTENCY_EXPIRY_SECONDS (1 hour) answers the first response
again (`Idempotent-Replayed: true`) and places nothing; with another body it is refused (422);
while the first is still running, 409 with `Retry-After`. Keys are per API key and customer:
two clients, or two customers of one client, never share one.
"""

from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from edge.http import (
    RATE_LIMIT_RESPONSE_HEADERS,
    api_resolver,
    bad_request,
    edge_responses,
    error_response,
    json_content,
    response_header,
)
from edge.identity import CUSTOMER_ROUTE_SECURITY, customer_id
from edge.middleware import api_handler
from edge.models import FieldError
from orders.dal import get_catalog, get_idempotency_store, get_repository
from orders.errors import UnknownSku
from orders.logic.orders import place_new_order
from orders.models import OrderAccepted, PlaceOrderRequest
from orders.settings import get_settings
from shared_kernel.observability import bind_correlation, logger, metrics, tracer

router = Router()

MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_KEY = "Idempotency-Key"
IN_PROGRESS_RETRY_AFTER_S = 1


@router.post(
    "/orders",
    summary="Place an order",
    description="Prices the order from the catalogue, stores it and starts its fulfilment.",
    tags=["orders"],
    responses={
        202: {
            "description": "Accepted: the order is PENDING; follow it at `Location`",
            "content": json_content(OrderAccepted),
            "headers": {
                "Location": response_header("/orders/{orderId}: where to follow the order"),
                "X-Correlation-Id": response_header("The id threading the order's events"),
                "Idempotent-Replayed": response_header(
                    "`true` when this is the stored answer to an earlier request with the "
                    "same Idempotency-Key"
                ),
                **RATE_LIMIT_RESPONSE_HEADERS,
            },
        },
        **edge_responses(401, 409, 413, 415, 422),
    },
    security=CUSTOMER_ROUTE_SECURITY,
)
def place_order(
    request: Annotated[PlaceOrderRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY,
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes retries safe: the same key and body place one order "
            "(keys expire after an hour; they are per API key)",
        ),
    ] = None,
    correlation_id: Annotated[
        str | None,
        Header(
            alias="X-Correlation-Id",
            min_length=1,
            max_length=128,
            pattern=r"^[\x21-\x7e]+$",
            description="Threads this order's events; API Gateway's request id by default",
        ),
    ] = None,
) -> Response[dict[str, Any]]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    correlation_id = correlation_id or event.request_context.request_id
    attempt = {
        "request": request.model_dump(mode="json"),
        "customerId": customer_id(event),
        "correlationId": correlation_id,
    }
    if idempotency_key is None:
        accepted = _place(attempt=attempt)
    else:
        config, place_once = idempotent_placement()
        config.register_lambda_context(router.lambda_context)
        client = event.request_context.identity.api_key_id or "anonymous"
        accepted = place_once(attempt={**attempt, "client": client, "key": idempotency_key})
    order_id = accepted["orderId"]
    headers = {"Location": f"/orders/{order_id}", "X-Correlation-Id": accepted["correlationId"]}
    if accepted.get("replayed"):
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=OrderAccepted(order_id=order_id, status=accepted["status"]).to_wire(),
        headers=headers,
    )


@tracer.capture_method
def _place(attempt: dict[str, Any]) -> dict[str, Any]:
    """Place the order `attempt` describes; returns what the client is answered (and, under an
    Idempotency-Key, what Powertools stores and replays)."""
    request = PlaceOrderRequest.model_validate(attempt["request"])
    correlation_id = attempt["correlationId"]
    order = place_new_order(
        request, attempt["customerId"], correlation_id, get_catalog().prices, get_repository()
    )
    bind_correlation(correlation_id, order.order_id)
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    logger.info("order placed", extra={"total": str(order.total)})
    return {
        "orderId": order.order_id,
        "status": order.status.value,
        "correlationId": correlation_id,
    }


@cache
def idempotent_placement() -> tuple[IdempotencyConfig, Callable[..., dict[str, Any]]]:
    """`_place` made idempotent by (API key, customer, Idempotency-Key), with the body as the
    payload a replay must match. Built on first use: it needs the settings and a DynamoDB client."""
    config = IdempotencyConfig(
        event_key_jmespath="[client, customerId, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=get_settings().idempotency_expiry_seconds,
        response_hook=_mark_replayed,
    )
    decorate = idempotent_function(
        data_keyword_argument="attempt",
        persistence_store=get_idempotency_store(),
        config=config,
    )
    return config, decorate(_place)


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this when it answers from a stored record."""
    return {**response, "replayed": True}


@router.exception_handler(UnknownSku)
def handle_unknown_sku(exc: UnknownSku) -> Response:
    return bad_request(str(exc), [FieldError(field=f, problem="unknown sku") for f in exc.fields])


@router.exception_handler(IdempotencyValidationError)
def handle_reused_key(exc: IdempotencyValidationError) -> Response:
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        f"this {IDEMPOTENCY_KEY} was already used with a different request body",
        [FieldError(field=IDEMPOTENCY_KEY, problem="reused with a different body")],
    )


@router.exception_handler(IdempotencyAlreadyInProgressError)
def handle_in_progress(exc: IdempotencyAlreadyInProgressError) -> Response:
    return error_response(
        HTTPStatus.CONFLICT,
        f"a request with this {IDEMPOTENCY_KEY} is still in progress; retry later",
        [FieldError(field=IDEMPOTENCY_KEY, problem="in progress")],
        headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER_S)},
    )


app = api_resolver(router)
handler = api_handler(app, max_body_bytes=MAX_BODY_BYTES, object_body=True, customer_token=True)
