"""Audit recorder: appends every event from the order-outcomes topic to the audit trail.

Trigger: an SQS queue subscribed with raw message delivery to the order-outcomes SNS topic
(ReportBatchItemFailures, DLQ), so each body is the EventBridge event the topic received.
Entries are keyed by event id (a redelivery appends nothing); a malformed message fails its
record.
"""

from aws_lambda_powertools.metrics import MetricUnit

from notifications.dal import get_audit
from shared_kernel.cloudevents import BusEventRecord
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_event, logger, metrics


@batch_consumer(BusEventRecord)
def handler(record: BusEventRecord) -> str:
    event = record.body.detail
    bind_event(event)
    if not get_audit().append(event):
        logger.info("event already audited")
        return "duplicate"
    metrics.add_metric(name="EventsAudited", unit=MetricUnit.Count, value=1)
    logger.info("event audited")
    return "recorded"
