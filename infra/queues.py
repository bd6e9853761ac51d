"""SQS queues the project way: every queue has a dead-letter queue, every queue enforces TLS."""

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DLQ_RETENTION = Duration.days(14)
"""The longest SQS allows: time to look at a failed message and redrive it."""

DEFAULT_VISIBILITY_TIMEOUT = Duration.seconds(30)


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """A queue that only collects failed messages (of a queue, a rule target, ...)."""
    return sqs.Queue(scope, id, retention_period=DLQ_RETENTION, enforce_ssl=True)


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


def visibility_timeout_for(function_timeout: Duration) -> Duration:
    """Visibility timeout of a queue consumed by a Lambda function: 6x its timeout."""
    return Duration.seconds(6 * function_timeout.to_seconds())
