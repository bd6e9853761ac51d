"""The ``orderflow-<stage>`` event bus: every service publishes to it, rules route from it."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import DeploymentConfig
from infra.contracts import SOURCE_PREFIX


class OrderflowBus(events.EventBus):
    """The stage's custom event bus, named ``config.bus_name``.

    Created once by the stack and passed, as a construct, to every service that publishes
    (``bus.grant_put_events_to(fn)``) or subscribes (``events.Rule(event_bus=bus)``).
    A subclass rather than a wrapper, so its logical ID stays ``Bus…``: the bus has a fixed
    name and CloudFormation cannot replace a resource with a fixed name.

    Attributes:
        event_archive: every orderflow event published to the bus (``source`` prefix
            ``orderflow.``), kept ``config.archive.retention_days`` (0: indefinitely) to be
            replayed; replayed events are not archived again (EventBridge's archive rule
            excludes events that carry ``replay-name``).
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id, event_bus_name=config.bus_name)
        days = config.archive.retention_days
        self.event_archive = self.archive(
            "Archive",
            archive_name=config.bus_name,
            description=f"every orderflow event of {config.bus_name}, for replays",
            event_pattern=events.EventPattern(source=events.Match.prefix(SOURCE_PREFIX)),
            retention=Duration.days(days) if days else None,
        )
