"""Transactional outbox relay: publishes PENDING outbox items from the orders table's stream.

Trigger: DynamoDB stream of ORDERS_TABLE (NEW_AND_OLD_IMAGES), with ReportBatchItemFailures and
a filter that lets through only records whose new image is a PENDING outbox item. For each
record that asks for it (logic.outbox.item_to_relay) it publishes the CloudEvent carried by the
record's NewImage (no read of the table) and marks the item SENT if it is still PENDING; if it
was SENT already the delivery was a duplicate, logged as such. A failed record is reported in
batchItemFailures (Lambda retries from it) after `attempts` and `lastError` were recorded on
the item.

Tracing: the stream invokes the relay in a trace of its own; each item is relayed inside a span
of the trace of the request that wrote it (the item's ``traceHeader``,
shared_kernel.tracing.span_in), annotated with the order and correlation ids, and the event is
published with that span as its parent, so the order's trace goes on through the bus.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from orders.dal import get_publisher, get_repository
from orders.logic.outbox import OutboxRelay, RelayOutcome, item_to_relay
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_correlation, logger, metrics
from shared_kernel.tracing import span_in


@batch_consumer(DynamoDBStreamRecordModel)
def handler(record: DynamoDBStreamRecordModel) -> str:
    change = record.dynamodb
    new_image = change.NewImage if isinstance(change.NewImage, dict) else None
    old_image = change.OldImage if isinstance(change.OldImage, dict) else None
    item = item_to_relay(record.eventName, new_image, old_image)
    if item is None:
        return "ignored"
    logger.append_keys(event_id=item.event_id, order_id=item.order_id)
    with span_in(item.trace_header):
        if item.correlation_id is not None:
            bind_correlation(item.correlation_id, item.order_id)
        outcome = OutboxRelay(get_repository(), get_publisher()).relay(item)
    if outcome is RelayOutcome.SENT:
        metrics.add_metric(name="OutboxEventsRelayed", unit=MetricUnit.Count, value=1)
        logger.info("outbox item relayed", extra={"outcome": outcome})
    else:
        # Consumers are idempotent by CloudEvent id; see OutboxRelay.relay.
        logger.warning(
            "duplicate delivery: the outbox item was already SENT, its event published again",
            extra={"outcome": outcome},
        )
    return outcome.value
