"""The fan-out's bus rule (EventBridge EnableRule / DisableRule; see ``logic/gate.py``)."""

from shared_kernel import aws


class BusRule:
    def __init__(self, name: str, bus: str) -> None:
        self._name = name
        self._bus = bus

    def enable(self) -> None:
        aws.eventbridge().enable_rule(Name=self._name, EventBusName=self._bus)

    def disable(self) -> None:
        aws.eventbridge().disable_rule(Name=self._name, EventBusName=self._bus)
