"""The ``Orderflow`` stack: shared resources, one construct per service, and the outputs."""

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambda_defaults import DependenciesLayer, FunctionDefaults
from infra.skeleton import SkeletonService


class OrderflowStack(Stack):
    """Everything orderflow deploys. Outputs have stable names that scripts and tests read.

    Attributes:
        bus: the ``orderflow-<stage>`` event bus every service publishes to.
        skeleton: the skeleton service.
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id, description=f"orderflow ({config.stage})")
        Tags.of(self).add("project", "orderflow")
        Tags.of(self).add("stage", config.stage)

        defaults = FunctionDefaults(config=config, layer=DependenciesLayer(self, "Dependencies"))
        self.bus = events.EventBus(self, "Bus", event_bus_name=config.bus_name)
        self.skeleton = SkeletonService(self, "Skeleton", bus=self.bus, defaults=defaults)
        self._add_outputs()

    def _add_outputs(self) -> None:
        skeleton = self.skeleton
        outputs = {
            "ApiId": skeleton.api.rest_api.rest_api_id,
            "ApiUrl": skeleton.api.rest_api.url,
            "TableName": skeleton.table.table_name,
            "BusName": self.bus.event_bus_name,
            "PingDlqUrl": skeleton.pings.dlq.queue_url,
            "WorkQueueUrl": skeleton.jobs.queues.queue.queue_url,
            "WorkDlqUrl": skeleton.jobs.queues.dlq.queue_url,
            "TopicArn": skeleton.fanout.topic.topic_arn,
            "FanoutQueueUrl": skeleton.fanout.queues.queue.queue_url,
            "FanoutDlqUrl": skeleton.fanout.queues.dlq.queue_url,
            "StateMachineArn": skeleton.workflow.state_machine.state_machine_arn,
            "ApiFunctionName": skeleton.api.handler.function_name,
            "PingFunctionName": skeleton.pings.handler.function_name,
            "WorkerFunctionName": skeleton.jobs.handler.function_name,
            "GreeterFunctionName": skeleton.workflow.handler.function_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
