"""The fan-out's rule switch (``logic/gate.py``) against a subscription created concurrently:
whatever the interleaving, the rule ends enabled while a subscription is."""

from datetime import UTC, datetime

from webhooks.dal.rule import rule_address
from webhooks.logic.gate import close_if_unused
from webhooks.models import Subscription


def subscription(enabled: bool = True) -> Subscription:
    return Subscription(
        id="wh_0123456789abcdef01234567",
        client="client",
        url="https://example.com/hook",
        event_types=["OrderConfirmed"],
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        enabled=enabled,
    )


class Rule:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def enable(self) -> None:
        self.calls.append("enable")

    def disable(self) -> None:
        self.calls.append("disable")


class View:
    """The subscriptions as the fan-out reads them after disabling the rule."""

    def __init__(self, *subscriptions: Subscription) -> None:
        self.subscriptions = list(subscriptions)
        self.reads = 0

    def all(self) -> list[Subscription]:
        self.reads += 1
        return self.subscriptions


def test_an_enabled_subscription_leaves_the_rule_alone() -> None:
    rule, view = Rule(), View()
    assert not close_if_unused([subscription()], view, rule)
    assert rule.calls == []
    assert view.reads == 0


def test_no_enabled_subscription_disables_the_rule_after_reading_again() -> None:
    rule, view = Rule(), View(subscription(enabled=False))
    assert close_if_unused([subscription(enabled=False)], view, rule)
    assert rule.calls == ["disable"]
    assert view.reads == 1


def test_a_subscription_created_while_disabling_enables_the_rule_again() -> None:
    # the API stored it and enabled the rule between the fan-out's read and its disable
    rule, view = Rule(), View(subscription())
    assert not close_if_unused([], view, rule)
    assert rule.calls == ["disable", "enable"]


def test_a_rules_bus_and_name_come_from_its_arn() -> None:
    arn = "arn:aws:events:eu-west-1:123456789012:rule/orderflow-dev/Orderflow-FanOut-1A2B"
    assert rule_address(arn) == ("orderflow-dev", "Orderflow-FanOut-1A2B")
    assert rule_address("arn:aws:events:eu-west-1:123456789012:rule/nightly") == (
        "default",
        "nightly",
    )
