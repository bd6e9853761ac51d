"""ScheduleShipment worker: consumes the saga's shipment requests from SQS.

Trigger: the shipment-requests queue (ReportBatchItemFailures; DLQ after maxReceiveCount). Each
body must be {orderId, items, taskToken, correlationId, causationId?}. For each request: store
the order's shipment (idempotent), `send_task_success` with {orderId, shipmentId, status} unless
already done, then publish ShipmentScheduled. A malformed body (or an InvalidToken) fails the
record: it returns to the queue and reaches the DLQ; the saga's timeout then compensates. If the
saga stopped waiting (TaskTimedOut / TaskDoesNotExist) the record is consumed and nothing is
published.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared_kernel.observability import bind_correlation, build_metrics
from shipping import events
from shipping.dal import get_notifier, get_publisher, get_repository
from shipping.logic.shipments import new_shipment
from shipping.models import ShipmentRequestRecord, ShipmentTaskOutput

logger = Logger(service="shipping")
tracer = Tracer(service="shipping")
metrics = build_metrics("shipping")
processor = BatchProcessor(
    event_type=EventType.SQS, model=ShipmentRequestRecord, raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: ShipmentRequestRecord) -> str:
    request = record.body
    bind_correlation(logger, request.correlation_id, request.order_id)
    repository = get_repository()
    shipment = repository.schedule(new_shipment(request))
    if not shipment.task_notified:
        output = ShipmentTaskOutput(
            order_id=shipment.order_id, shipment_id=shipment.shipment_id, status=shipment.status
        )
        if not get_notifier().succeed(request.task_token, output.to_wire()):
            metrics.add_metric(name="ShipmentTaskGone", unit=MetricUnit.Count, value=1)
            logger.warning("the saga no longer waits for this shipment")
            return "SAGA_GONE"
        repository.mark_task_notified(shipment.order_id)
        metrics.add_metric(name="ShipmentsScheduled", unit=MetricUnit.Count, value=1)
    get_publisher().publish([events.shipment_scheduled(request, shipment)])
    logger.info("shipment scheduled", extra={"shipment_id": shipment.shipment_id})
    return shipment.shipment_id


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
