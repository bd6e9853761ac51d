"""Saga step ReserveInventory: reserve every line of the order, or fail with OutOfStock.

Input: {orderId, items: [{sku, quantity}], correlationId, causationId?} (extra keys ignored).
Output: {orderId, status: "RESERVED", lines}. Publishes InventoryReserved, or
InventoryReservationFailed before raising OutOfStock (Catch) / InventoryBusy (Retry).
"""

from aws_lambda_powertools.metrics import MetricUnit

from inventory.dal import get_publisher, get_repository
from inventory.errors import InventoryBusy, OutOfStock
from inventory.logic.reservations import reserve
from inventory.models import ReservationOutput, ReserveInventoryInput
from shared_kernel.handlers import saga_step
from shared_kernel.observability import logger, metrics
from shared_kernel.publisher import PublishError


@saga_step(ReserveInventoryInput, raises=(OutOfStock, InventoryBusy, PublishError))
def handler(step: ReserveInventoryInput) -> ReservationOutput:
    try:
        reservation = reserve(step, get_repository(), get_publisher())
    except OutOfStock as exc:
        metrics.add_metric(name="ReservationsFailed", unit=MetricUnit.Count, value=1)
        logger.info("reservation refused", extra={"sku": exc.sku})
        raise
    metrics.add_metric(name="InventoryReserved", unit=MetricUnit.Count, value=1)
    logger.info("inventory reserved", extra={"status": reservation.status})
    return ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
