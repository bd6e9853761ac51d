"""GET /orders/{orderId}: the order as the read model sees it, with its event history.

200 {orderId, status, customerId, items, total, reason?, history: [{id, type, source, time,
data}] oldest first}; 404 when nothing is known about the order. The status is the projected
one (the view); right after POST /orders, before the projector ran, it is the order's own.
"""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dal import get_repository
from orders.logic.read_model import order_details

logger = Logger(service="orders")
tracer = Tracer(service="orders")
app = APIGatewayRestResolver()


@app.get("/orders/<order_id>")
@tracer.capture_method
def get_order(order_id: str) -> Response:
    details = order_details(order_id, list(get_repository().order_items(order_id)))
    if details is None:
        return Response(
            status_code=HTTPStatus.NOT_FOUND,
            content_type=content_types.APPLICATION_JSON,
            body={"message": f"order {order_id} not found"},
        )
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=details.to_wire(),
    )


@tracer.capture_lambda_handler
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
