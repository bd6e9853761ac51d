"""The skeleton service: every path the project relies on, each kept as small as possible."""

from aws_cdk import aws_events as events
from constructs import Construct

from infra.lambda_defaults import FunctionDefaults
from infra.skeleton.api import ItemsApi
from infra.skeleton.events import PingConsumer
from infra.skeleton.fanout import Fanout
from infra.skeleton.jobs import JobWorker
from infra.skeleton.table import SkeletonTable
from infra.skeleton.workflow import GreetingWorkflow


class SkeletonService(Construct):
    """Composes the skeleton's paths around one table.

    Attributes:
        table: the DynamoDB table every path writes to.
        api, pings, jobs, fanout, workflow: the path constructs (paths a to e).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, id)
        self.table = SkeletonTable(self, "Data", config=defaults.config).table
        self.api = ItemsApi(self, "Api", table=self.table, defaults=defaults)
        self.pings = PingConsumer(self, "Pings", bus=bus, table=self.table, defaults=defaults)
        self.jobs = JobWorker(self, "Jobs", table=self.table, defaults=defaults)
        self.fanout = Fanout(self, "Fanout")
        self.workflow = GreetingWorkflow(self, "Workflow", defaults=defaults)
