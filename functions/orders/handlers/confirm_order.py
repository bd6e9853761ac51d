"""Saga step ConfirmOrder: PENDING -> CONFIRMED, with OrderConfirmed queued in the outbox.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status: "CONFIRMED"}.
Idempotent (a retry changes nothing and queues nothing). Raises OrderStateConflict if the order
was cancelled, OrderNotFound if it does not exist.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import events
from orders.dal import get_repository
from orders.logic.orders import settle
from orders.models import OrderStatus, OrderStepOutput
from shared_kernel.models import StepInput
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    order, changed = settle(
        step.order_id,
        OrderStatus.CONFIRMED,
        None,
        get_repository(),
        lambda order: events.order_confirmed(order, step),
    )
    if changed:
        metrics.add_metric(name="OrdersConfirmed", unit=MetricUnit.Count, value=1)
    logger.info("order confirmed", extra={"changed": changed})
    return OrderStepOutput(order_id=order.order_id, status=order.status).to_wire()
