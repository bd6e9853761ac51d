"""Behaviour fix: a disabled rule fires nothing, as on EventBridge.

LocalStack 2026.3 keeps sending to a rule's targets after ``DisableRule``, which only
changes the rule's state:

- a schedule rule's job function (``EventsProvider._get_scheduled_rule_job_function``) sends
  to every target without looking at the state. The fix wraps the job function so that a tick
  of a ``DISABLED`` rule does nothing; enabling the rule again resumes its ticks (the job keeps
  running, as the rule's schedule does on AWS). Found by the reconciler's integration tests,
  which pause its schedule so that their own invocations are the only ones
  (docs/resilience/reconciler.md);
- an event pattern rule is matched against every event put on its bus
  (``EventsProvider._process_rules``, once per rule and event) whatever its state. The fix
  skips a ``DISABLED`` rule before matching. The webhooks fan-out keeps its rule disabled
  while no subscription is enabled (functions/webhooks/logic/gate.py); on LocalStack the rule
  kept feeding the fan-out's queue five messages an order for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orderflow_hostexec.archive import PROCESS_RULES
from orderflow_hostexec.patches import Patch, Target

_PROVIDER = "localstack.services.events.provider"
DISABLED = "DISABLED"


def skip_disabled_schedule_rules() -> None:
    from localstack.services.events.provider import EventsProvider

    build_job = EventsProvider._get_scheduled_rule_job_function

    def _get_scheduled_rule_job_function(
        self: Any, account_id: str, region: str, rule: Any
    ) -> Callable[..., Any]:
        job = build_job(self, account_id, region, rule)

        def tick_unless_disabled(*args: Any, **kwargs: Any) -> Any:
            if rule.state == DISABLED:
                return None
            return job(*args, **kwargs)

        return tick_unless_disabled

    EventsProvider._get_scheduled_rule_job_function = _get_scheduled_rule_job_function


def skip_disabled_pattern_rules() -> None:
    from localstack.services.events.provider import EventsProvider

    process_rules = EventsProvider._process_rules

    def _process_rules(  # noqa: PLR0917 (LocalStack's signature)
        self: Any,
        rule: Any,
        region: str,
        account_id: str,
        event_formatted: Any,
        trace_header: Any,
    ) -> None:
        if rule.state == DISABLED:
            return
        process_rules(self, rule, region, account_id, event_formatted, trace_header)

    EventsProvider._process_rules = _process_rules


_RULE = Target("localstack.services.events.models", "Rule", shape="class")

PATCHES = (
    Patch(
        name="events.disabled-schedules",
        kind="behaviour",
        purpose="a disabled schedule rule fires nothing, as on EventBridge",
        targets=(
            Target(_PROVIDER, "EventsProvider", shape="class"),
            Target(
                _PROVIDER,
                "EventsProvider._get_scheduled_rule_job_function",
                parameters=("self", "account_id", "region", "rule"),
            ),
            _RULE,
        ),
        apply=skip_disabled_schedule_rules,
    ),
    Patch(
        name="events.disabled-pattern-rules",
        kind="behaviour",
        purpose="a disabled event pattern rule matches no event, as on EventBridge",
        targets=(
            Target(_PROVIDER, "EventsProvider", shape="class"),
            PROCESS_RULES,
            _RULE,
        ),
        apply=skip_disabled_pattern_rules,
    ),
)
