"""Read-model projector: every orderflow CloudEvent from the bus into the order's history and
projected status.

Trigger: the projection SQS queue, fed by an EventBridge rule on EVENT_BUS_NAME matching
`{"source": [{"prefix": "orderflow."}], "detail": {"specversion": [{"exists": true}]}}`; each
message body is the EventBridge event. Batches of up to 10 (ReportBatchItemFailures; the
queue's DLQ after 3 receives). Duplicates are ignored (conditional put of the history item),
whether redelivered or twice in one batch; the view update is repeated on every delivery, which
is harmless because it only sets values. A malformed event (MalformedEventError, logged with its
field at error level) or a failed write fails its record only: the rest of the batch is
projected, and the record is received again, then reaches the DLQ.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dal import get_repository
from orders.logic.projection import history_time, public_data, queued_event, view_change
from shared_kernel.errors import MalformedEventError
from shared_kernel.observability import bind_event, build_metrics, unbind_event

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")
# A batch whose records all failed is reported like a partial one (every record listed).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    unbind_event(logger)
    logger.append_keys(message_id=record.message_id)
    try:
        return project(record.body)
    except MalformedEventError as error:
        logger.error(
            "malformed event: its record fails (received again, then the DLQ)",
            extra={"field": error.field, "problem": error.problem},
        )
        raise
    except Exception:
        # The batch processor keeps the error to itself; say why the record will come back.
        logger.exception("projection failed: the record will be received again")
        raise


def project(body: str) -> str:
    cloud_event = queued_event(body)
    bind_event(logger, cloud_event)
    change = view_change(cloud_event)  # validates the data of status-changing events
    repository = get_repository()
    entry = {
        "id": cloud_event.id,
        "type": cloud_event.type,
        "source": cloud_event.source,
        "time": history_time(cloud_event),
        "data": public_data(cloud_event.data),
    }
    appended = repository.append_history(cloud_event, entry)
    repository.apply_view_change(cloud_event.subject, change)
    if appended:
        metrics.add_metric(name="EventsProjected", unit=MetricUnit.Count, value=1)
    logger.info("event projected", extra={"duplicate": not appended})
    return "projected" if appended else "duplicate"


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
