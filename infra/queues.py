"""SQS queues the project way: every queue has a dead-letter queue, every queue enforces TLS,
and every Lambda consumer reports batch item failures."""

from aws_cdk import Aspects, Duration, Names, Tag, Tags
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra.nag import suppress

DLQ_RETENTION = Duration.days(14)
"""The longest SQS allows: time to look at a failed message and redrive it."""

DEFAULT_VISIBILITY_TIMEOUT = Duration.seconds(30)

ROLE_TAG = "orderflow:role"
DEAD_LETTER_ROLE = "dead-letter"
"""Every DLQ of the stack carries this tag: `orderflow dlq` finds them by it, whatever sends
to them (a redrive policy, a rule target, a stream's on-failure destination, the saga)."""

_LAST_STOP = (
    "a dead-letter queue (of a queue, a rule target, a stream or the saga): the last stop of a "
    "failed message, kept 14 days to be looked at and redriven; a DLQ of its own would only "
    "move it again"
)


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """A queue that only collects failed messages (of a queue, a rule target, ...)."""
    queue = sqs.Queue(scope, id, retention_period=DLQ_RETENTION, enforce_ssl=True)
    Tags.of(queue).add(ROLE_TAG, DEAD_LETTER_ROLE)
    # cdk-nag knows a DLQ only from a redrive policy, not as the DLQ of a rule target, an
    # event source mapping or a state machine task.
    suppress(queue, "AwsSolutions-SQS3", _LAST_STOP)
    suppress(queue, "Serverless-SQSRedrivePolicy", _LAST_STOP)
    return queue


def dead_letter_queues(scope: IConstruct) -> list[sqs.Queue]:
    """Every queue under ``scope`` made by ``dead_letter_queue`` (it carries the role tag), in
    construct-tree order: the DLQ alarms watch each one."""
    return [
        queue
        for queue in scope.node.find_all()
        if isinstance(queue, sqs.Queue)
        and any(
            isinstance(aspect, Tag) and (aspect.key, aspect.value) == (ROLE_TAG, DEAD_LETTER_ROLE)
            for aspect in Aspects.of(queue).all
        )
    ]


class QueueWithDlq(Construct):
    """A work queue whose messages move to a dead-letter queue after ``max_receive_count`` tries.

    Attributes:
        queue: the work queue.
        dlq: its dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        visibility_timeout: Duration = DEFAULT_VISIBILITY_TIMEOUT,
        max_receive_count: int = 3,
    ) -> None:
        """
        Args:
            visibility_timeout: for a Lambda consumer, at least 6x the function timeout
                (AWS guidance) so a message is not redelivered while still being processed.
            max_receive_count: receives before a message moves to the DLQ.
        """
        super().__init__(scope, id)
        self.dlq = dead_letter_queue(self, "Dlq")
        self.queue = sqs.Queue(
            self,
            "Queue",
            visibility_timeout=visibility_timeout,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=max_receive_count
            ),
        )


RULE_RETRY_ATTEMPTS = 4
RULE_MAX_EVENT_AGE = Duration.hours(1)
"""How EventBridge retries delivering to a rule's target before it dead-letters the event."""


def rule_target(queues: QueueWithDlq) -> targets.SqsQueue:
    """``queues.queue`` as an EventBridge rule target. What EventBridge cannot deliver (queue
    policy, throttling), after its retries, goes to ``queues.dlq``: everything the consumer
    could not handle is in one place."""
    return targets.SqsQueue(
        queues.queue,
        dead_letter_queue=queues.dlq,
        retry_attempts=RULE_RETRY_ATTEMPTS,
        max_event_age=RULE_MAX_EVENT_AGE,
    )


def visibility_timeout_for(function_timeout: Duration) -> Duration:
    """Visibility timeout of a queue consumed by a Lambda function: 6x its timeout."""
    return Duration.seconds(6 * function_timeout.to_seconds())


def consume(
    function: lambda_.IFunction,
    queues: QueueWithDlq,
    *,
    max_concurrency: int,
    batch_size: int = 10,
    batching_window: Duration | None = None,
) -> None:
    """``function`` polls ``queues.queue`` in batches, reporting the records it failed; a record
    that keeps failing moves to ``queues.dlq`` by the queue's redrive policy.
    ``max_concurrency`` (at least 2) caps the concurrent invocations the event source makes
    (``MaximumConcurrency``, a bulkhead: a flood on this queue waits in the queue).
    ``batching_window`` (``MaximumBatchingWindowInSeconds``) lets the event source gather up to
    ``batch_size`` messages for that long before it invokes: fewer invocations for a consumer
    off the request path, at the cost of that much latency; without it, a message is handed
    over as soon as it is received."""
    function.add_event_source(
        event_sources.SqsEventSource(
            queues.queue,
            batch_size=batch_size,
            max_batching_window=batching_window,
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
    )
    # SqsEventSource names its mapping after the queue
    mapping = function.node.find_child(f"SqsEventSource:{Names.node_unique_id(queues.queue.node)}")
    suppress(
        mapping,
        "Serverless-LambdaEventSourceMappingDestination",
        "an SQS event source takes no on-failure destination: a record that keeps failing "
        "moves to the queue's redrive DLQ",
    )
