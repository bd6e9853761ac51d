"""Saga step ConfirmOrder: PENDING -> CONFIRMED, with OrderConfirmed queued in the outbox.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status: "CONFIRMED"}.
Idempotent (a retry changes nothing and queues nothing). Raises OrderStateConflict if the order
was cancelled, OrderNotFound if it does not exist. The confirmation that changed the order
records ``OrderCompletionLatency``: from its ``createdAt`` (POST /orders, or the OrderPlaced
event's time) to its confirmation, in milliseconds (the ``order-latency`` alarm's objective).
"""

from aws_lambda_powertools.metrics import MetricUnit

from orders import events
from orders.dal import get_repository
from orders.errors import OrderNotFound, OrderStateConflict
from orders.logic.orders import completion_latency_ms, settle
from orders.models import OrderStatus, OrderStepOutput
from shared_kernel.handlers import saga_step
from shared_kernel.models import StepInput
from shared_kernel.observability import logger, metrics


@saga_step(StepInput, raises=(OrderStateConflict, OrderNotFound))
def handler(step: StepInput) -> OrderStepOutput:
    order, changed = settle(
        step.order_id,
        OrderStatus.CONFIRMED,
        None,
        get_repository(),
        lambda order: events.order_confirmed(order, step),
    )
    if changed:
        metrics.add_metric(name="OrdersConfirmed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(
            name="OrderCompletionLatency",
            unit=MetricUnit.Milliseconds,
            value=completion_latency_ms(order),
        )
    logger.info("order confirmed", extra={"changed": changed})
    return OrderStepOutput(order_id=order.order_id, status=order.status)
