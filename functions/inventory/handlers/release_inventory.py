"""Saga compensation ReleaseInventory: give the order's reserved stock back.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status, lines} where status is
RELEASED, COMMITTED (left alone) or absent when nothing was ever reserved. Idempotent; publishes
InventoryReleased whenever the reservation ends RELEASED (again on a retry: consumers dedupe).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import events
from inventory.dal import get_publisher, get_repository
from inventory.models import ReservationOutput, ReservationStatus
from shared_kernel.models import StepInput
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="inventory")
tracer = Tracer(service="inventory")
metrics = build_metrics("inventory")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    metrics.add_metric(name="InventoryReleased", unit=MetricUnit.Count, value=1)
    reservation = get_repository().release(step.order_id)
    if reservation is None:
        logger.info("nothing reserved, nothing to release")
        return ReservationOutput(order_id=step.order_id, status=None).to_wire()
    if reservation.status is ReservationStatus.RELEASED:
        get_publisher().publish([events.inventory_released(step, reservation.lines)])
    logger.info("reservation settled", extra={"status": reservation.status})
    output = ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
    return output.to_wire()
