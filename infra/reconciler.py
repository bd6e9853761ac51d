"""The reconciler: a scheduled function that repairs what got stuck across services, under a
lease (``functions/reconciler``)."""

import cdk_nag
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.domain import DomainFunctions, domain_table
from infra.lambda_defaults import SHARED_PACKAGES, FunctionDefaults
from infra.nag import suppress, suppress_lambda_role

SERVICE = "reconciler"
PACKAGES = (*SHARED_PACKAGES, "orders", "inventory", "payments")
"""The owning services' packages, bundled so the jobs reuse their dal and logic (their storage
translation and rules stay theirs)."""


ANY_EXECUTION = cdk_nag.RegexAppliesTo(
    regex=r"/^Resource::arn:<AWS::Partition>:states:.*:execution:.*:\*$/g"
)
"""cdk-nag's finding for a grant on every execution of one state machine."""


class Reconciler(Construct):
    """A schedule rule invoking the reconciler, which works only while it holds the lease in
    ``lease_table`` and fences every write with the lease's token.

    Its jobs publish stuck outbox items again, restart (or cancel) stalled orders' sagas,
    settle reservations of settled orders and void payments of cancelled ones, through the
    orders, inventory and payments tables it is given (read/write), the bus (PutEvents) and
    the saga (StartExecution, DescribeExecution).

    Attributes:
        lease_table: the lease (one item: owner, expiry, fencing token, scan cursors).
        function: the reconciler.
        rule: the schedule (``config.reconciler.schedule``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        orders_table: dynamodb.ITable,
        products_table: dynamodb.ITable,
        payments_table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
    ) -> None:
        """
        Args:
            orders_table: orders and their outbox (the orders service's table).
            products_table: reservations and stock (the inventory service's table).
            payments_table: authorisations (the payments service's table).
            state_machine: the order-fulfilment saga, restarted for stalled orders.
            bus: where stuck events are published again.
            defaults: the stack's shared config and layer.
        """
        super().__init__(scope, id)
        settings = defaults.config.reconciler
        self.lease_table = domain_table(self, "Leases", config=defaults.config)
        function = DomainFunctions(
            self,
            service=SERVICE,
            defaults=defaults,
            environment={
                "LEASE_TABLE": self.lease_table.table_name,
                "ORDERS_TABLE": orders_table.table_name,
                "PRODUCTS_TABLE": products_table.table_name,
                "PAYMENTS_TABLE": payments_table.table_name,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                **settings.environment(),
            },
            shared_packages=PACKAGES,
        )
        self.function = function(
            "Function",
            "reconcile",
            "repairs stuck outbox items, orders, reservations and payments under a lease",
            timeout=Duration.seconds(settings.timeout_seconds),
        )
        # A failed run is not retried: the next tick runs again (every job is idempotent).
        self.function.configure_async_invoke(retry_attempts=0)
        for table in (self.lease_table, orders_table, products_table, payments_table):
            table.grant_read_write_data(self.function)
        bus.grant_put_events_to(self.function)
        state_machine.grant_start_execution(self.function)
        state_machine.grant_execution(self.function, "states:DescribeExecution")
        assert self.function.role is not None  # CDK creates one when none is given
        suppress_lambda_role(
            self.function.role,
            "DescribeExecution on the saga's executions (execution:<saga>:*): their names are "
            "not known in advance (EventBridge names them); no other action is granted on them",
            applies_to=[ANY_EXECUTION],
        )
        self.rule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.expression(settings.schedule),
            description="orderflow: runs the reconciler",
        )
        self.rule.add_target(targets.LambdaFunction(self.function, retry_attempts=0))
        self._suppress_findings()

    def _suppress_findings(self) -> None:
        """A schedule tick carries nothing worth keeping: a run that failed, or a tick that
        was not delivered, is replaced by the next tick (every job is idempotent and resumes
        from its cursor); the failure is in the function's logs and metrics."""
        tick = "a schedule tick carries no data; the next tick (a minute later) does the work"
        invoke_config = self.function.node.find_child("EventInvokeConfig")
        suppress(invoke_config, "Serverless-LambdaAsyncFailureDestination", tick)
        suppress(self.rule, "Serverless-EventBusDLQ", tick)
