"""Saga step CommitInventory (after ConfirmOrder): reserved stock becomes sold stock.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status: "COMMITTED", lines}.
Idempotent. Raises ReservationNotFound / ReservationReleased (business errors) when there is
no live reservation to commit. Publishes nothing: OrderConfirmed already tells the story.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.dal import get_repository
from inventory.models import ReservationOutput
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
    reservation = get_repository().commit(step.order_id)
    metrics.add_metric(name="InventoryCommitted", unit=MetricUnit.Count, value=1)
    logger.info("reservation committed")
    output = ReservationOutput(
        order_id=step.order_id, status=reservation.status, lines=reservation.lines
    )
    return output.to_wire()
