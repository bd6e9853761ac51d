"""Path b: EventBridge rule (``orderflow.skeleton`` / ``PingSent``) -> Lambda -> DynamoDB."""

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.lambda_defaults import FunctionDefaults, ServiceFunction
from infra.queues import dead_letter_queue

SOURCE = "orderflow.skeleton"


class PingConsumer(Construct):
    """Records every ``PingSent`` event of ``bus`` in the table.

    Events that EventBridge cannot deliver after its retries land in ``dlq``.

    Attributes:
        handler: the consumer function.
        rule: the rule on the bus.
        dlq: the rule target's dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        table: dynamodb.ITable,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, id)
        self.handler = ServiceFunction(
            self,
            "Handler",
            service="skeleton",
            handler="skeleton.handlers.ping.handler",
            defaults=defaults,
            environment={"TABLE_NAME": table.table_name},
            description="skeleton: records PingSent events",
        ).function
        table.grant_write_data(self.handler)

        self.dlq = dead_letter_queue(self, "TargetDlq")
        self.rule = events.Rule(
            self,
            "PingSent",
            event_bus=bus,
            event_pattern=events.EventPattern(source=[SOURCE], detail_type=["PingSent"]),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.handler,
                dead_letter_queue=self.dlq,
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        )
