"""Audit recorder: appends every event from the order-outcomes topic to the audit trail.

Trigger: an SQS queue subscribed to the order-outcomes SNS topic (ReportBatchItemFailures, DLQ).
The body may be an SNS envelope or a raw message (see logic.envelopes). Entries are keyed by
event id (a redelivery appends nothing); a malformed message fails its record.
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

from notifications.dal import get_audit
from notifications.logic.envelopes import cloud_event_from_sqs_body
from shared_kernel.observability import bind_event, build_metrics

logger = Logger(service="notifications")
tracer = Tracer(service="notifications")
metrics = build_metrics("notifications")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    event = cloud_event_from_sqs_body(record.body)
    bind_event(logger, event)
    if not get_audit().append(event):
        logger.info("event already audited")
        return "duplicate"
    metrics.add_metric(name="EventsAudited", unit=MetricUnit.Count, value=1)
    logger.info("event audited")
    return "recorded"


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
