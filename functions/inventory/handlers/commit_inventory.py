"""Saga step CommitInventory (after ConfirmOrder): reserved stock becomes sold stock.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status: "COMMITTED", lines}.
Idempotent. Raises ReservationNotFound / ReservationReleased (business errors) when there is
no live reservation to commit. Publishes nothing: OrderConfirmed already tells the story.
"""

from aws_lambda_powertools.metrics import MetricUnit

from inventory.dal import get_repository
from inventory.errors import InventoryBusy, ReservationNotFound, ReservationReleased
from inventory.logic.reservations import commit
from inventory.models import ReservationOutput
from shared_kernel.handlers import saga_step
from shared_kernel.models import StepInput
from shared_kernel.observability import logger, metrics


@saga_step(StepInput, raises=(ReservationNotFound, ReservationReleased, InventoryBusy))
def handler(step: StepInput) -> ReservationOutput:
    reservation = commit(step.order_id, get_repository())
    metrics.add_metric(name="InventoryCommitted", unit=MetricUnit.Count, value=1)
    logger.info("reservation committed")
    return ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
