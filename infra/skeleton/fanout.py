"""Path d: SNS topic -> SQS subscription (raw message delivery) -> fan-out queue (with DLQ)."""

from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.queues import QueueWithDlq


class Fanout(Construct):
    """A topic delivering every message, unwrapped, to a queue.

    Attributes:
        topic: the topic to publish to.
        queues: the subscribed queue (``queues.queue``) and its DLQ (``queues.dlq``).
    """

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(self, "Topic")
        self.queues = QueueWithDlq(self, "Subscriber")
        self.topic.add_subscription(
            subscriptions.SqsSubscription(self.queues.queue, raw_message_delivery=True)
        )
