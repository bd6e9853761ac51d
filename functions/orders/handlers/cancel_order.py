"""Saga step CancelOrder (end of every compensation path): PENDING -> CANCELLED with a reason,
OrderCancelled queued in the outbox.

Input: {orderId, correlationId, causationId?, reason?, error?: {Error, Cause}}: `reason` wins,
otherwise it is derived from the caught error's name (OutOfStock -> OUT_OF_STOCK,
PaymentDeclined -> PAYMENT_DECLINED, States.Timeout -> SHIPMENT_TIMEOUT, else SAGA_FAILED).
Output: {orderId, status: "CANCELLED", reason}. Idempotent. Raises OrderStateConflict if the
order was confirmed, OrderNotFound if it does not exist.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import events
from orders.dal import get_repository
from orders.logic.lifecycle import cancellation_reason
from orders.logic.orders import settle
from orders.models import CancelOrderInput, OrderStatus, OrderStepOutput
from shared_kernel.observability import bind_correlation, build_metrics, metrics_namespace

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = CancelOrderInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    reason = cancellation_reason(step.reason, step.error)
    order, changed = settle(
        step.order_id,
        OrderStatus.CANCELLED,
        reason,
        get_repository(),
        lambda order: events.order_cancelled(order, reason, step),
    )
    if changed:
        metrics.add_metric(name="CompensationsRun", unit=MetricUnit.Count, value=1)
        with single_metric(
            name="OrdersCancelled",
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics_namespace(),
            default_dimensions={"service": "orders"},
        ) as metric:
            metric.add_dimension(name="reason", value=reason)
    logger.info("order cancelled", extra={"reason": order.reason, "changed": changed})
    return OrderStepOutput(
        order_id=order.order_id, status=order.status, reason=order.reason
    ).to_wire()
