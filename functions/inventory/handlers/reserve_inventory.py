"""Saga step ReserveInventory: reserve every line of the order, or fail with OutOfStock.

Input: {orderId, items: [{sku, quantity}], correlationId, causationId?} (extra keys ignored).
Output: {orderId, status: "RESERVED", lines}. Publishes InventoryReserved, or
InventoryReservationFailed before raising OutOfStock (Catch) / InventoryBusy (Retry).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import events
from inventory.dal import get_publisher, get_repository
from inventory.errors import OutOfStock
from inventory.models import ReservationOutput, ReservationStatus, ReserveInventoryInput
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="inventory")
tracer = Tracer(service="inventory")
metrics = build_metrics("inventory")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = ReserveInventoryInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    try:
        reservation = get_repository().reserve(step.order_id, step.items)
    except OutOfStock as exc:
        logger.info("reservation refused", extra={"sku": exc.sku})
        metrics.add_metric(name="ReservationsFailed", unit=MetricUnit.Count, value=1)
        failed = events.inventory_reservation_failed(step, exc.reason, exc.sku)
        get_publisher().publish([failed])
        raise
    if reservation.status is not ReservationStatus.RELEASED:  # a released one is history
        get_publisher().publish([events.inventory_reserved(step, reservation.lines)])
        metrics.add_metric(name="InventoryReserved", unit=MetricUnit.Count, value=1)
    logger.info("inventory reserved", extra={"status": reservation.status})
    output = ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
    return output.to_wire()
