"""The fan-out's rule is enabled only while some subscription is enabled.

With no subscriber, every orderflow event would still go bus -> rule -> events queue ->
fan-out, to be dropped there: five SQS messages and about two invocations per order for
nothing. So the fan-out disables its rule when an event finds no enabled subscription, and
the API enables it whenever a subscription is created or re-enabled.

Concurrent calls end in the right state. The API writes the subscription (bumping the
subscriptions' version) and then enables the rule; the fan-out disables the rule and then
reads the subscriptions again, and enables it back if one is enabled now. If that read misses
the new subscription, the write came after the read, so the API's enable comes after the
fan-out's disable: the rule ends enabled either way.

What a subscriber may see: events put on the bus before its subscription was answered are not
delivered (as before), and on AWS a rule change takes effect within seconds, so an event put
in the first moments after a subscription is created may not reach it either.
"""

from collections.abc import Iterable

from webhooks.logic.ports import RuleSwitch, SubscriptionsView
from webhooks.models import Subscription


def any_enabled(subscriptions: Iterable[Subscription]) -> bool:
    return any(subscription.enabled for subscription in subscriptions)


def close_if_unused(
    subscriptions: list[Subscription], view: SubscriptionsView, rule: RuleSwitch
) -> bool:
    """Disable the rule if none of ``subscriptions`` (as the fan-out just read them) is
    enabled; True when it is left disabled."""
    if any_enabled(subscriptions):
        return False
    rule.disable()
    # one created meanwhile: its API call may have enabled first
    if any_enabled(view.all()):
        rule.enable()
        return False
    return True
