"""Notifications: order outcomes fan out from the bus to a topic, then to the customer
notifier and the audit trail, each behind its own queue."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.contracts import ORDER_OUTCOMES, SOURCE_PREFIX
from infra.domain import DomainFunctions, domain_table
from infra.lambda_defaults import FunctionDefaults
from infra.queues import (
    RULE_MAX_EVENT_AGE,
    RULE_RETRY_ATTEMPTS,
    QueueWithDlq,
    consume,
    dead_letter_queue,
    visibility_timeout_for,
)
from infra.resilience import reserve

CONSUMER_TIMEOUT = Duration.seconds(5)
"""A consumer writes one item per message; the queues' visibility timeout is six times this."""

BATCHING_WINDOW = Duration.seconds(2)
"""How long a consumer's event source gathers outcomes before it invokes the consumer (or
until it has 10). Telling the customer and recording the audit trail are off the order's path,
so a message may wait that long: at 3 orders/s each consumer then runs about once per 5
outcomes, not once per outcome (docs/performance/cost-per-order.md)."""

OUTCOMES = list(ORDER_OUTCOMES)
"""The detail-types routed to the order-outcomes topic (``OrderConfirmed``, ``OrderCancelled``:
the events ``functions/notifications/events.py`` consumes)."""


class Subscriber(Construct):
    """A queue (with DLQ) subscribed to ``topic``, consumed in batches by one function that
    writes to ``table``; what SNS cannot deliver to the queue goes to its DLQ as well.

    Attributes:
        table: the consumer's table.
        queues: the subscribed queue (``queues.queue``) and its DLQ (``queues.dlq``).
        handler: the consumer.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topic: sns.ITopic,
        module: str,
        table_variable: str,
        defaults: FunctionDefaults,
        description: str,
    ) -> None:
        """
        Args:
            topic: the topic to subscribe to (raw message delivery: the body is the event).
            module: the consumer, ``functions/notifications/handlers/<module>.py``.
            table_variable: the environment variable naming the table (``AUDIT_TABLE``).
            defaults: the stack's shared config and layer.
            description: shown in the Lambda console.
        """
        super().__init__(scope, id)
        self.table = domain_table(self, "Table", config=defaults.config)
        self.queues = QueueWithDlq(
            self, "Queue", visibility_timeout=visibility_timeout_for(CONSUMER_TIMEOUT)
        )
        # What SNS cannot deliver to the queue (after its retries) goes to the queue's DLQ too.
        topic.add_subscription(
            subscriptions.SqsSubscription(
                self.queues.queue, raw_message_delivery=True, dead_letter_queue=self.queues.dlq
            )
        )
        function = DomainFunctions(
            self,
            service="notifications",
            defaults=defaults,
            environment={table_variable: self.table.table_name},
        )
        self.handler: lambda_.Function = function(
            "Handler", module, description, timeout=CONSUMER_TIMEOUT
        )
        self.table.grant_write_data(self.handler)
        bulkheads = defaults.config.resilience.bulkheads
        consume(
            self.handler,
            self.queues,
            max_concurrency=bulkheads.max_concurrency,
            batching_window=BATCHING_WINDOW,
        )
        reserve(self.handler, bulkheads.queue_consumer, bulkheads)


class Notifications(Construct):
    """``OrderConfirmed`` / ``OrderCancelled`` from the bus -> topic ``order-outcomes`` ->
    the customer notifier and the audit recorder.

    Attributes:
        topic: the order-outcomes topic (its name is generated).
        rule, rule_dlq: the bus rule feeding the topic and its target's DLQ.
        customer: the customer notifier (NOTIFICATIONS_TABLE: ``NOTIFICATION#<eventId>``).
        audit: the audit recorder (AUDIT_TABLE: ``ORDER#<orderId>``/``EVENT#<time>#<id>``).
    """

    def __init__(
        self, scope: Construct, id: str, *, bus: events.IEventBus, defaults: FunctionDefaults
    ) -> None:
        """
        Args:
            bus: the bus the order outcomes are published to.
            defaults: the stack's shared config and layer.
        """
        super().__init__(scope, id)
        self.topic = sns.Topic(
            self, "OrderOutcomes", display_name="orderflow order outcomes", enforce_ssl=True
        )
        self.customer = Subscriber(
            self,
            "Customer",
            topic=self.topic,
            module="customer_notifier",
            table_variable="NOTIFICATIONS_TABLE",
            defaults=defaults,
            description="tells the customer how the order ended",
        )
        self.audit = Subscriber(
            self,
            "Audit",
            topic=self.topic,
            module="audit_recorder",
            table_variable="AUDIT_TABLE",
            defaults=defaults,
            description="appends order outcomes to the audit trail",
        )

        self.rule_dlq = dead_letter_queue(self, "RuleDlq")
        self.rule = events.Rule(
            self,
            "Outcomes",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=events.Match.prefix(SOURCE_PREFIX), detail_type=OUTCOMES
            ),
        )
        self.rule.add_target(
            targets.SnsTopic(
                self.topic,
                dead_letter_queue=self.rule_dlq,
                retry_attempts=RULE_RETRY_ATTEMPTS,
                max_event_age=RULE_MAX_EVENT_AGE,
            )
        )
