"""CloudWatch alarms judged and recorded as on AWS (behaviour fixes).

- ``cloudwatch.alarm-evaluation-range``: an alarm whose missing data is ``breaching`` or
  ``notBreaching`` is judged on its last ``EvaluationPeriods`` periods, as on AWS. LocalStack
  2026.3 fetched ``EvaluationPeriods + 2`` periods (at least) and counted every breaching one,
  so a 1-of-1 alarm on a DLQ stayed in ALARM for two more minutes after the queue was
  emptied, and fired on a datapoint already outside its range.
- ``cloudwatch.alarm-history-time``: a state change's history item is stamped with the time of
  the change. LocalStack stamped it with the time of the previous change (it read the alarm's
  ``StateUpdatedTimestamp`` before updating it), so ``DescribeAlarmHistory`` and
  ``orderflow alerts`` showed each change at the time of the one before.

Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.patches import Patch, Target

_SCHEDULER = "localstack.services.cloudwatch.alarm_scheduler"
_PROVIDER = "localstack.services.cloudwatch.provider_v2"
JUDGED_ON_RANGE = ("breaching", "notBreaching")


def evaluation_range(values: list[Any], alarm_details: dict[str, Any]) -> list[Any]:
    """The periods an alarm is judged on, oldest first: its last ``EvaluationPeriods`` when
    missing data counts as breaching or not; all of them otherwise (``missing`` and
    ``ignore`` look further back for datapoints, as AWS does)."""
    if alarm_details.get("TreatMissingData", "missing") in JUDGED_ON_RANGE:
        return values[-int(alarm_details["EvaluationPeriods"]) :]
    return values


def judge_the_evaluation_range() -> None:
    from localstack.services.cloudwatch import alarm_scheduler

    collect = alarm_scheduler.collect_metric_data

    def collect_metric_data(alarm_details: Any, client: Any) -> list[Any]:
        return evaluation_range(collect(alarm_details, client), alarm_details)

    alarm_scheduler.collect_metric_data = collect_metric_data


def stamp_history_with_the_change() -> None:
    from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider

    update = CloudwatchProvider._update_state

    def _update_state(self: Any, context: Any, alarm: Any, *args: Any, **kwargs: Any) -> None:
        update(self, context, alarm, *args, **kwargs)
        histories = self.get_store(context.account_id, context.region).histories
        name = alarm.alarm["AlarmName"]
        for item in reversed(histories):  # the item just appended for this alarm
            if item.get("AlarmName") == name:
                item["Timestamp"] = alarm.alarm["StateUpdatedTimestamp"]
                break

    CloudwatchProvider._update_state = _update_state


PATCHES = (
    Patch(
        name="cloudwatch.alarm-evaluation-range",
        kind="behaviour",
        purpose="an alarm treating missing data as (not) breaching is judged on its last "
        "EvaluationPeriods periods, not on two more",
        targets=(
            Target(_SCHEDULER, "collect_metric_data", parameters=("alarm_details", "client")),
            Target(_SCHEDULER, "calculate_alarm_state", parameters=("alarm_arn",)),
        ),
        apply=judge_the_evaluation_range,
    ),
    Patch(
        name="cloudwatch.alarm-history-time",
        kind="behaviour",
        purpose="a state change's history item is stamped with the time of the change",
        targets=(
            Target(
                _PROVIDER,
                "CloudwatchProvider._update_state",
                parameters=(
                    "self",
                    "context",
                    "alarm",
                    "state_value",
                    "state_reason",
                    "state_reason_data",
                ),
            ),
            Target(_PROVIDER, "CloudwatchProvider.get_store"),
        ),
        apply=stamp_history_with_the_change,
    ),
)
