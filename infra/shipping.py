"""Shipping: the shipment-requests queue the saga writes to, and its consumer."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

from infra.domain import DomainFunctions, domain_table
from infra.lambda_defaults import FunctionDefaults
from infra.queues import QueueWithDlq, consume, visibility_timeout_for
from infra.resilience import reserve

SCHEDULER_TIMEOUT = Duration.seconds(10)


class Shipping(Construct):
    """Schedules a shipment per order (table ``SHIPMENTS_TABLE``: ``SHIPMENT#<orderId>``/
    ``SHIPMENT``).

    The saga's ScheduleShipment state sends ``{orderId, items, taskToken, correlationId,
    causationId}`` to ``requests.queue`` and waits; ``scheduler`` stores the shipment and
    answers with ``SendTaskSuccess``. It needs ``states:SendTask*`` on the state machine,
    which exists only later: the saga calls ``state_machine.grant_task_response(scheduler)``.
    A request that fails three times moves to ``requests.dlq`` (the saga then times out and
    compensates).

    Attributes:
        table: the shipments table.
        requests: the shipment-requests queue (``requests.queue``) and its DLQ.
        scheduler: the queue's consumer.
    """

    def __init__(
        self, scope: Construct, id: str, *, bus: events.IEventBus, defaults: FunctionDefaults
    ) -> None:
        """
        Args:
            bus: where ``ShipmentScheduled`` is published.
            defaults: the stack's shared config and layer.
        """
        super().__init__(scope, id)
        self.table = domain_table(self, "Table", config=defaults.config)
        self.requests = QueueWithDlq(
            self,
            "Requests",
            visibility_timeout=visibility_timeout_for(SCHEDULER_TIMEOUT),
            max_receive_count=3,
        )
        environment = {
            "SHIPMENTS_TABLE": self.table.table_name,
            "EVENT_BUS_NAME": bus.event_bus_name,
        }
        function = DomainFunctions(
            self, service="shipping", defaults=defaults, environment=environment
        )
        self.scheduler = function(
            "Scheduler",
            "schedule_shipment",
            "schedules the saga's shipment requests",
            timeout=SCHEDULER_TIMEOUT,
        )
        self.table.grant_read_write_data(self.scheduler)
        bus.grant_put_events_to(self.scheduler)
        bulkheads = defaults.config.resilience.bulkheads
        consume(self.scheduler, self.requests, max_concurrency=bulkheads.max_concurrency)
        reserve(self.scheduler, bulkheads.queue_consumer, bulkheads)
