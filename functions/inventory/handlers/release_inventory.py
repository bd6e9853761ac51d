"""Saga compensation ReleaseInventory: give the order's reserved stock back.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status, lines} where status is
RELEASED, COMMITTED (left alone) or absent when nothing was ever reserved. Idempotent; publishes
InventoryReleased whenever the reservation ends RELEASED (again on a retry, with the same id:
consumers ignore it). The InventoryReleased metric counts the releases this step made, not its
retries or no-ops.
"""

from aws_lambda_powertools.metrics import MetricUnit

from inventory.dal import get_publisher, get_repository
from inventory.errors import InventoryBusy
from inventory.logic.reservations import release
from inventory.models import ReservationOutput
from shared_kernel.handlers import saga_step
from shared_kernel.models import StepInput
from shared_kernel.observability import logger, metrics
from shared_kernel.publisher import PublishError


@saga_step(StepInput, raises=(InventoryBusy, PublishError))
def handler(step: StepInput) -> ReservationOutput:
    reservation, released = release(step, get_repository(), get_publisher())
    if released:
        metrics.add_metric(name="InventoryReleased", unit=MetricUnit.Count, value=1)
    if reservation is None:
        logger.info("nothing reserved, nothing to release")
        return ReservationOutput(order_id=step.order_id, status=None)
    logger.info("reservation settled", extra={"status": reservation.status, "changed": released})
    return ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
