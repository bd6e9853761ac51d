"""ScheduleShipment worker: consumes the saga's shipment requests from SQS.

Trigger: the shipment-requests queue (ReportBatchItemFailures; DLQ after maxReceiveCount). Each
body must be {orderId, items, taskToken, correlationId, causationId?}. For each request (see
logic.shipments.schedule_shipment): store the order's shipment (idempotent), publish
ShipmentScheduled, then `send_task_success` with {orderId, shipmentId, status} unless already
done: the event is on the bus before the saga moves on. A malformed body (or an InvalidToken)
fails the record: it returns to the queue and reaches the DLQ; the saga's timeout then
compensates. If the saga stopped waiting (TaskTimedOut / TaskDoesNotExist) the record is
consumed; the shipment and its event stand (a fact), and the order was cancelled by the saga.
"""

from aws_lambda_powertools.metrics import MetricUnit

from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_correlation, logger, metrics
from shipping.dal import get_notifier, get_publisher, get_repository
from shipping.logic.shipments import Outcome, schedule_shipment
from shipping.models import ShipmentRequestRecord


@batch_consumer(ShipmentRequestRecord)
def handler(record: ShipmentRequestRecord) -> str:
    request = record.body
    bind_correlation(request.correlation_id, request.order_id)
    shipment, outcome = schedule_shipment(
        request, get_repository(), get_publisher(), get_notifier()
    )
    if outcome is Outcome.SCHEDULED:
        metrics.add_metric(name="ShipmentsScheduled", unit=MetricUnit.Count, value=1)
    elif outcome is Outcome.SAGA_GONE:
        metrics.add_metric(name="ShipmentTaskGone", unit=MetricUnit.Count, value=1)
        logger.warning("the saga no longer waits for this shipment")
    logger.info("shipment scheduled", extra={"shipment_id": shipment.shipment_id})
    return outcome.value
