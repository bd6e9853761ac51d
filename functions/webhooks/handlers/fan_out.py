"""Fan-out: every orderflow event on the bus -> one delivery message per enabled subscription
to its type, on the delivery queue.

Trigger: an SQS queue, target of an EventBridge rule (every ``orderflow.*`` CloudEvent of a
type a subscription may name); ReportBatchItemFailures, DLQ. The subscriptions are kept in
memory and read again when their version item changes (``dal/subscriptions.py``). An event
that finds no enabled subscription disables the rule feeding this queue (``logic/gate.py``):
with no subscriber, no event reaches the fan-out. A record
whose messages SQS refuses fails, is received again and fanned out again: the messages' ids
are derived from (event, subscription), so a receiver sees the same ``webhook-id``.
"""

from aws_lambda_powertools.metrics import MetricUnit

from shared_kernel.cloudevents import BusEventRecord
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_event, logger, metrics
from webhooks.dal import get_fan_out_rule, get_queues, get_subscriptions
from webhooks.logic.fanout import fan_out
from webhooks.logic.gate import close_if_unused
from webhooks.settings import get_settings


@batch_consumer(BusEventRecord)
def handler(record: BusEventRecord) -> str:
    event = record.body.detail
    bind_event(event)
    subscriptions = get_subscriptions()
    current = subscriptions.all()
    messages = fan_out(event, current, get_settings().redacted_fields)
    if not messages:
        if close_if_unused(current, subscriptions, get_fan_out_rule()):
            logger.info("no enabled subscription: the fan-out's rule is disabled")
            return "no subscriptions: rule disabled"
        return "no subscribers"
    get_queues().send_all(messages)
    metrics.add_metric(name="WebhookMessagesQueued", unit=MetricUnit.Count, value=len(messages))
    logger.info("event fanned out", extra={"messages": len(messages)})
    return f"{len(messages)} queued"
