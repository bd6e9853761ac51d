"""Read-model projector: every orderflow CloudEvent from the bus into the order's history and
projected status.

Trigger: the projection SQS queue, fed by an EventBridge rule on EVENT_BUS_NAME matching
`{"source": [{"prefix": "orderflow."}], "detail": {"specversion": [{"exists": true}]}}`; each
message body is the EventBridge event. Batches of up to 10 (ReportBatchItemFailures; the
queue's DLQ after 3 receives). Each event gets the order's next sequence number, with its view
change, in one transaction; a duplicate (redelivered, or twice in one batch) changes nothing. A
malformed event (logged with its field at error level) or a failed write fails its record only:
the rest of the batch is projected, and the record is received again, then reaches the DLQ.
"""

from aws_lambda_powertools.metrics import MetricUnit

from orders.dal import get_views
from orders.logic.projection import project
from shared_kernel.cloudevents import BusEventRecord
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_event, logger, metrics


@batch_consumer(BusEventRecord)
def handler(record: BusEventRecord) -> str:
    event = record.body.detail
    bind_event(event)
    recorded = project(event, get_views())
    if recorded:
        metrics.add_metric(name="EventsProjected", unit=MetricUnit.Count, value=1)
    logger.info("event projected", extra={"duplicate": not recorded})
    return "projected" if recorded else "duplicate"
