"""Customer notifier: renders a message for each OrderConfirmed / OrderCancelled.

Trigger: an SQS queue subscribed with raw message delivery to the order-outcomes SNS topic
(ReportBatchItemFailures, DLQ), so each body is the EventBridge event the topic received. Each
message is logged and stored once per event id (a redelivery sends nothing new). A malformed
message fails its record (back to the queue, then the DLQ); other event types are acknowledged
and ignored.
"""

from aws_lambda_powertools.metrics import MetricUnit

from notifications.dal import get_notifications
from notifications.logic.messages import render
from shared_kernel.cloudevents import BusEventRecord
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_event, logger, metrics


@batch_consumer(BusEventRecord)
def handler(record: BusEventRecord) -> str:
    event = record.body.detail
    bind_event(event)
    notification = render(event)
    if notification is None:
        logger.info("not a customer-facing event, ignored")
        return "ignored"
    if not get_notifications().save(notification):
        logger.info("customer already notified for this event")
        return "duplicate"
    metrics.add_metric(name="CustomersNotified", unit=MetricUnit.Count, value=1)
    logger.info(
        "customer notified",
        extra={"customer_id": notification.customer_id, "subject": notification.subject},
    )
    return "sent"
