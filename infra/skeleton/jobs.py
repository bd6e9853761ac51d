"""Path c: SQS work queue (with DLQ) -> Lambda with partial batch failures -> DynamoDB."""

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra.lambda_defaults import FunctionDefaults, ServiceFunction
from infra.queues import QueueWithDlq, visibility_timeout_for

WORKER_TIMEOUT = Duration.seconds(5)


class JobWorker(Construct):
    """Processes job messages in batches of 10, reporting failed messages one by one.

    A failed message is retried once more, then moves to the DLQ (``maxReceiveCount`` 2).

    Attributes:
        queues: the work queue (``queues.queue``) and its DLQ (``queues.dlq``).
        handler: the worker function.
    """

    def __init__(
        self, scope: Construct, id: str, *, table: dynamodb.ITable, defaults: FunctionDefaults
    ) -> None:
        super().__init__(scope, id)
        self.queues = QueueWithDlq(
            self,
            "Work",
            visibility_timeout=visibility_timeout_for(WORKER_TIMEOUT),
            max_receive_count=2,
        )
        self.handler = ServiceFunction(
            self,
            "Handler",
            service="skeleton",
            handler="skeleton.handlers.worker.handler",
            defaults=defaults,
            timeout=WORKER_TIMEOUT,
            environment={"TABLE_NAME": table.table_name},
            description="skeleton: processes job messages",
        ).function
        table.grant_write_data(self.handler)
        self.handler.add_event_source(
            event_sources.SqsEventSource(
                self.queues.queue, batch_size=10, report_batch_item_failures=True
            )
        )
