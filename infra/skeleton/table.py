"""The skeleton's single DynamoDB table."""

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.config import DeploymentConfig


class SkeletonTable(Construct):
    """Items, recorded events and processed jobs, told apart by the prefix of ``pk``.

    The stream (new and old images) is on for the consumers that the order domain adds.

    Attributes:
        table: the table.
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            removal_policy=config.removal_policy,
        )
