"""Behaviour fix: a disabled schedule rule does not fire, as on EventBridge.

LocalStack 2026.3 keeps invoking a schedule rule's targets after ``DisableRule``: its job
function (``EventsProvider._get_scheduled_rule_job_function``) sends to every target without
looking at the rule's state, and ``DisableRule`` only changes the state. On AWS a disabled
rule matches nothing and fires nothing. The fix wraps the job function so that a tick of a
rule whose state is ``DISABLED`` does nothing; enabling the rule again resumes its ticks (the
job keeps running, as the rule's schedule does on AWS).

Found by the reconciler's integration tests, which pause its schedule so that their own
invocations are the only ones (docs/resilience/reconciler.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
            Target("localstack.services.events.models", "Rule", shape="class"),
        ),
        apply=skip_disabled_schedule_rules,
    ),
)
