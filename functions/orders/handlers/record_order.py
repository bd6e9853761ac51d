"""Saga step RecordOrder (first state): the order described by OrderPlaced, created if needed.

Input: {"event": the EventBridge event that started the execution (or its bare CloudEvent),
"executionId": the execution's ARN}. Output (the saga state): {orderId, customerId, items: [{sku,
quantity, unitPrice}], total, paymentToken, correlationId, causationId}. An order placed through
the API already exists and is returned as stored; an OrderPlaced sent straight to the bus creates
it (conditional put), so both entry points continue the same way. The step also claims the
order's saga for this execution: a second execution for the same order (a duplicate delivery of
OrderPlaced) gets SagaAlreadyStarted (Catch -> succeed without doing anything). Raises
MalformedEventError (Catch -> the malformed-events queue) when the event or its data is invalid.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import events
from orders.dal import get_repository
from orders.logic.orders import order_from_event
from orders.models import RecordOrderInput, SagaState
from shared_kernel.cloudevents import CloudEvent, from_eventbridge, parse_cloud_event
from shared_kernel.errors import MalformedEventError
from shared_kernel.observability import bind_event, build_metrics

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")


def _placed_event(event: dict[str, Any]) -> CloudEvent:
    cloud_event = from_eventbridge(event) if "detail-type" in event else parse_cloud_event(event)
    if cloud_event.type != events.ORDER_PLACED:
        raise MalformedEventError("type", f"expected {events.ORDER_PLACED}, got {cloud_event.type}")
    return cloud_event


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = RecordOrderInput.model_validate(event)
    placed_event = _placed_event(step.event)
    bind_event(logger, placed_event)
    placed = placed_event.data_as(events.OrderPlacedData)
    order = get_repository().record_order(order_from_event(placed, placed_event), step.execution_id)
    logger.info("order recorded", extra={"status": order.status})
    return SagaState(
        order_id=order.order_id,
        customer_id=order.customer_id,
        items=order.items,
        total=order.total,
        payment_token=placed.payment_token,
        correlation_id=placed_event.correlationid,
        causation_id=placed_event.id,
    ).to_wire()
