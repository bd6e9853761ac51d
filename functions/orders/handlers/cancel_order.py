"""Saga step CancelOrder (end of every compensation path): PENDING -> CANCELLED with a reason,
OrderCancelled queued in the outbox.

Input: {orderId, correlationId, causationId?, reason?, error?: {Error, Cause}}: `reason` wins,
otherwise it is derived from the caught error's name (OutOfStock -> OUT_OF_STOCK,
PaymentDeclined -> PAYMENT_DECLINED, States.Timeout -> SHIPMENT_TIMEOUT, else SAGA_FAILED).
Output: {orderId, status: "CANCELLED", reason}. Idempotent. Raises OrderStateConflict if the
order was confirmed, OrderNotFound if it does not exist.
"""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from orders import events
from orders.dal import get_repository
from orders.errors import OrderNotFound, OrderStateConflict
from orders.logic.lifecycle import cancellation_reason
from orders.logic.orders import settle
from orders.models import CancelOrderInput, OrderStatus, OrderStepOutput
from shared_kernel.handlers import saga_step
from shared_kernel.observability import METRICS_NAMESPACE, logger, metrics


@saga_step(CancelOrderInput, raises=(OrderStateConflict, OrderNotFound))
def handler(step: CancelOrderInput) -> OrderStepOutput:
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
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": str(metrics.service)},
        ) as metric:
            metric.add_dimension(name="reason", value=reason)
    logger.info("order cancelled", extra={"reason": order.reason, "changed": changed})
    return OrderStepOutput(order_id=order.order_id, status=order.status, reason=order.reason)
