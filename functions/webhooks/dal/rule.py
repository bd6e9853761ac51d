"""The fan-out's bus rule (EventBridge EnableRule / DisableRule; see ``logic/gate.py``)."""

from shared_kernel import aws


def rule_address(arn: str) -> tuple[str, str]:
    """(bus, rule name) of a rule's ARN: ``...:rule/<bus>/<name>``, or ``...:rule/<name>`` on
    the default bus. (A rule's ``Ref`` on a custom bus is ``<bus>|<name>``, which no API takes.)
    """
    path = arn.split(":", 5)[5].removeprefix("rule/")
    bus, _, name = path.rpartition("/")
    return bus or "default", name


class BusRule:
    def __init__(self, arn: str) -> None:
        self._bus, self._name = rule_address(arn)

    def enable(self) -> None:
        aws.eventbridge().enable_rule(Name=self._name, EventBusName=self._bus)

    def disable(self) -> None:
        aws.eventbridge().disable_rule(Name=self._name, EventBusName=self._bus)
