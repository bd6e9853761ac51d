"""POST /orders: price the order, store it with its OrderPlaced event (outbox), answer 202.

Body {customerId, items: [{sku, quantity}] (1..25), paymentToken}. 202 {orderId, status} with
`Location` and `X-Correlation-Id` headers; 400 {message, errors: [{field, problem}]} for an
invalid body or an unknown SKU. The correlation id is the `X-Correlation-Id` request header, or
API Gateway's request id.
"""

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from orders import events
from orders.dal import get_catalog, get_repository
from orders.errors import UnknownSku
from orders.handlers._api import bad_request, invalid_body
from orders.logic.orders import new_order
from orders.models import PlaceOrderRequest
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")
app = APIGatewayRestResolver()


@app.post("/orders")
@tracer.capture_method
def place_order() -> Response:
    request = PlaceOrderRequest.model_validate(app.current_event.json_body)
    correlation_id = (
        app.current_event.headers.get("x-correlation-id")
        or app.current_event.request_context.request_id
    )
    order = new_order(request, get_catalog().prices, correlation_id)
    bind_correlation(logger, correlation_id, order.order_id)
    get_repository().create_order(order, events.order_placed(order, request.payment_token))
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    logger.info("order placed", extra={"total": str(order.total)})
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body={"orderId": order.order_id, "status": order.status.value},
        headers={"Location": f"/orders/{order.order_id}", "X-Correlation-Id": correlation_id},
    )


@app.exception_handler(ValidationError)
def handle_invalid_body(exc: ValidationError) -> Response:
    return invalid_body(exc)


@app.exception_handler(json.JSONDecodeError)
def handle_not_json(exc: json.JSONDecodeError) -> Response:
    return bad_request("body is not JSON", [{"field": "body", "problem": str(exc)}])


@app.exception_handler(UnknownSku)
def handle_unknown_sku(exc: UnknownSku) -> Response:
    return bad_request(str(exc), [{"field": exc.field, "problem": "unknown sku"}])


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
