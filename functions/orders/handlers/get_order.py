"""GET /orders/{orderId}: the order as the read model sees it, with its event history.

200 {orderId, status, customerId, items, total, reason?, history: [{sequence, id, type, source,
time, data}] in the order's sequence}; 404 when nothing is known about the order, or when it is
another customer's (the customer is the bearer token's `sub`: same answer, no enumeration);
401 without a valid customer token; 400 for an id
that cannot be an order's. The status is that of the last status-changing event of the history
returned with it (one snapshot); before the projector recorded OrderPlaced it is PENDING with
an empty history.

Every answer carries the order's `ETag`; `If-None-Match` naming it -> 304 without a body.
`?wait=N` (1..20 s, at most the stage's `LONG_POLL_MAX_WAIT_SECONDS`): long polling, answered
as soon as the order changes relative to the caller's `If-None-Match` (without one, to the
order when the request came), else at the deadline (304 if `If-None-Match` still matches);
see orders/logic/follow.py.
"""

import time
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from edge.http import (
    RATE_LIMIT_RESPONSE_HEADERS,
    api_resolver,
    bad_request,
    edge_responses,
    error_response,
    if_none_match,
    json_content,
    response_header,
)
from edge.identity import CUSTOMER_ROUTE_SECURITY, customer_id
from edge.middleware import api_handler
from edge.models import FieldError
from orders.dal import get_order_reads
from orders.logic.follow import WAIT_CEILING_SECONDS, follow_order
from orders.models import OrderDetails
from orders.settings import get_settings
from shared_kernel.models import ORDER_ID_PATTERN

router = Router()

ETAG_HEADER = {"ETag": response_header("The order's version: send it as `If-None-Match`")}
ANSWER_MARGIN_S = 2.0
"""Time a long poll keeps for its last read and its answer before the function's timeout."""


class MonotonicClock:
    """The clock a long poll waits by (tests replace it)."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


clock = MonotonicClock()


@router.get(
    "/orders/<orderId>",
    summary="Follow an order",
    description="The order's projected status, lines, total and event history.",
    tags=["orders"],
    responses={
        200: {
            "description": "The order",
            "content": json_content(OrderDetails),
            "headers": {**ETAG_HEADER, **RATE_LIMIT_RESPONSE_HEADERS},
        },
        304: {
            "content": {},
            "description": "Not modified: `If-None-Match` names the order's current ETag "
            "(with `wait`: still, at the deadline); no body",
            "headers": {**ETAG_HEADER, **RATE_LIMIT_RESPONSE_HEADERS},
        },
        **edge_responses(401, 404),
    },
    security=CUSTOMER_ROUTE_SECURITY,
)
def get_order(
    order_id: Annotated[
        str, Path(alias="orderId", pattern=ORDER_ID_PATTERN, description="From POST /orders")
    ],
    wait: Annotated[
        int | None,
        Query(
            gt=0,
            le=WAIT_CEILING_SECONDS,
            description="Long polling: answer as soon as the order changes (relative to "
            "`If-None-Match`, else to the order when the request came), or after this many "
            "seconds",
        ),
    ] = None,
    known: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            min_length=1,
            max_length=1024,
            description="ETag(s) of the order the caller has: 304 while it is current",
        ),
    ] = None,
) -> Response[dict[str, Any] | None]:
    settings = get_settings()
    if wait is not None and wait > settings.long_poll_max_wait_seconds:
        problem = f"at most {settings.long_poll_max_wait_seconds} seconds"
        return bad_request("invalid request", [FieldError(field="wait", problem=problem)])
    found = follow_order(
        order_id,
        known=known,
        wait_s=_wait_budget(wait),
        interval_s=settings.long_poll_interval_ms / 1000,
        reader=get_order_reads(),
        clock=clock,
        customer_id=customer_id(router.current_event),
    )
    if found is None:
        return error_response(HTTPStatus.NOT_FOUND, f"order {order_id} not found")
    headers = {"ETag": found.etag}
    if if_none_match(known, found.etag):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=found.details.to_wire(),
        headers=headers,
    )


def _wait_budget(wait: int | None) -> float:
    """``wait`` seconds, within what the function's timeout leaves (0: no wait)."""
    if not wait:
        return 0.0
    remaining_s = router.lambda_context.get_remaining_time_in_millis() / 1000
    return max(0.0, min(float(wait), remaining_s - ANSWER_MARGIN_S))


app = api_resolver(router)
handler = api_handler(app, customer_token=True)
