"""The ``orderflow-<stage>`` event bus: every service publishes to it, rules route from it."""

from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import DeploymentConfig


class OrderflowBus(events.EventBus):
    """The stage's custom event bus, named ``config.bus_name``.

    Created once by the stack and passed, as a construct, to every service that publishes
    (``bus.grant_put_events_to(fn)``) or subscribes (``events.Rule(event_bus=bus)``).
    A subclass rather than a wrapper, so its logical ID stays ``Bus…``: the bus has a fixed
    name and CloudFormation cannot replace a resource with a fixed name.
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id, event_bus_name=config.bus_name)
