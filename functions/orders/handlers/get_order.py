"""GET /orders/{orderId}: the order as the read model sees it, with its event history.

200 {orderId, status, customerId, items, total, reason?, history: [{sequence, id, type, source,
time, data}] in the order's sequence}; 404 when nothing is known about the order, or when it is
another customer's (the customer is the bearer token's `sub`: same answer, no enumeration);
401 without a valid customer token; 400 for an id
that cannot be an order's. The status is that of the last status-changing event of the history
returned with it (one snapshot); before the projector recorded OrderPlaced it is PENDING with
an empty history.
"""

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from edge.http import (
    RATE_LIMIT_RESPONSE_HEADERS,
    api_resolver,
    edge_responses,
    error_response,
    json_content,
)
from edge.identity import CUSTOMER_ROUTE_SECURITY, customer_id
from edge.middleware import api_handler
from orders.dal import get_repository
from orders.logic.read_model import order_details, visible_to
from orders.models import OrderDetails
from shared_kernel.models import ORDER_ID_PATTERN

router = Router()


@router.get(
    "/orders/<orderId>",
    summary="Follow an order",
    description="The order's projected status, lines, total and event history.",
    tags=["orders"],
    responses={
        200: {
            "description": "The order",
            "content": json_content(OrderDetails),
            "headers": RATE_LIMIT_RESPONSE_HEADERS,
        },
        **edge_responses(401, 404),
    },
    security=CUSTOMER_ROUTE_SECURITY,
)
def get_order(
    order_id: Annotated[
        str, Path(alias="orderId", pattern=ORDER_ID_PATTERN, description="From POST /orders")
    ],
) -> Response[dict[str, Any]]:
    details = visible_to(
        order_details(order_id, *get_repository().read_order(order_id)),
        customer_id(router.current_event),
    )
    if details is None:
        return error_response(HTTPStatus.NOT_FOUND, f"order {order_id} not found")
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=details.to_wire(),
    )


app = api_resolver(router)
handler = api_handler(app, customer_token=True)
