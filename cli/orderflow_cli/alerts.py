"""``orderflow alerts``: the stack's alarms (state, reason, since when), what changed state
recently (``DescribeAlarmHistory``), and the alerts delivered to the alerts inbox.

The alarms are the stack's own (CloudFormation's ``AWS::CloudWatch::Alarm`` resources of the
stack; ``infra/observability.py`` makes them). The inbox is the SQS queue a non-production
stage subscribes to its alerts topic (output ``AlertsInboxUrl``); its messages are peeked,
not consumed, as ``orderflow dlq`` does. On AWS, alerts also go wherever people subscribed
the topic (``AlertsTopicArn``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from orderflow_cli.dead_letters import peek
from orderflow_cli.stack import StackRef, console, fail, stack_of

INBOX_OUTPUT = "AlertsInboxUrl"
TOPIC_OUTPUT = "AlertsTopicArn"
_STATE_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}
_DESCRIBE_BATCH = 100  # DescribeAlarms takes at most 100 names


def stack_alarm_names(stack: StackRef) -> list[str]:
    """The names of the stack's alarms (its ``AWS::CloudWatch::Alarm`` resources)."""
    cloudformation = stack.client("cloudformation")
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack.name)
        return sorted(
            resource["PhysicalResourceId"]
            for page in pages
            for resource in page["StackResourceSummaries"]
            if resource["ResourceType"] == "AWS::CloudWatch::Alarm"
            and resource.get("PhysicalResourceId")
        )
    except ClientError as error:
        fail(f"cannot list the resources of stack {stack.name!r}: {error}")


def describe(cloudwatch: Any, names: list[str]) -> list[dict[str, Any]]:
    """Each alarm's state, reason and when it entered that state, ALARM first."""
    alarms: list[dict[str, Any]] = []
    for start in range(0, len(names), _DESCRIBE_BATCH):
        answer = cloudwatch.describe_alarms(
            AlarmNames=names[start : start + _DESCRIBE_BATCH], AlarmTypes=["MetricAlarm"]
        )
        alarms += [
            {
                "name": alarm["AlarmName"],
                "state": alarm["StateValue"],
                "reason": alarm.get("StateReason", ""),
                "since": _iso(alarm.get("StateUpdatedTimestamp")),
                "metric": f"{alarm.get('Namespace', '')} {alarm.get('MetricName', '')}".strip(),
                "description": alarm.get("AlarmDescription", ""),
            }
            for alarm in answer.get("MetricAlarms", [])
        ]
    return sorted(alarms, key=lambda alarm: (_STATE_ORDER.get(alarm["state"], 3), alarm["name"]))


def state_changes(cloudwatch: Any, names: list[str], since: datetime) -> list[dict[str, Any]]:
    """The alarms' state changes since ``since``, newest first."""
    ours = set(names)
    changes = []
    for page in cloudwatch.get_paginator("describe_alarm_history").paginate(
        HistoryItemType="StateUpdate"
    ):
        for item in page.get("AlarmHistoryItems", []):
            when = _aware(item.get("Timestamp"))
            if item.get("AlarmName") not in ours or when is None or when < since:
                continue
            data = _json(item.get("HistoryData"))
            new = data.get("newState", {}) if isinstance(data, dict) else {}
            old = data.get("oldState", {}) if isinstance(data, dict) else {}
            changes.append(
                {
                    "time": _iso(when),
                    "alarm": item["AlarmName"],
                    "from": old.get("stateValue", ""),
                    "to": new.get("stateValue", ""),
                    "reason": new.get("stateReason", item.get("HistorySummary", "")),
                }
            )
    return sorted(changes, key=lambda change: change["time"], reverse=True)


def delivered(sqs: Any, inbox_url: str, limit: int) -> list[dict[str, Any]]:
    """The alerts in the inbox (peeked, left in it), newest first: each an SNS notification
    whose message is the alarm's state change."""
    alerts = []
    for message in peek(sqs, inbox_url, limit):
        envelope = _json(message.get("Body"))
        if not isinstance(envelope, dict):
            continue
        alarm = _json(envelope.get("Message"))
        alarm = alarm if isinstance(alarm, dict) else {}
        alerts.append(
            {
                "time": envelope.get("Timestamp", ""),
                "subject": envelope.get("Subject", ""),
                "alarm": alarm.get("AlarmName", ""),
                "from": alarm.get("OldStateValue", ""),
                "to": alarm.get("NewStateValue", ""),
                "reason": alarm.get("NewStateReason", ""),
            }
        )
    return sorted(alerts, key=lambda alert: alert["time"], reverse=True)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: Any) -> str:
    when = _aware(value)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def alerts_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    since: Annotated[
        int,
        typer.Option(
            "--since", min=1, max=60 * 24 * 14, help="State changes of the last N minutes."
        ),
    ] = 60,
    messages: Annotated[
        int, typer.Option("--messages", min=0, max=1000, help="Delivered alerts shown (peeked).")
    ] = 20,
) -> None:
    """The stack's alarms with their state, reason and since when; their state changes of
    the last ``--since`` minutes; and the alerts delivered to the alerts inbox."""
    stack = stack_of(ctx)
    stack.output(TOPIC_OUTPUT)  # a clear error for a deployment without alarms
    names = stack_alarm_names(stack)
    cloudwatch = stack.client("cloudwatch")
    try:
        alarms = describe(cloudwatch, names)
        history = state_changes(cloudwatch, names, datetime.now(UTC) - timedelta(minutes=since))
    except ClientError as error:
        fail(f"CloudWatch refused: {error}", code=1)
    inbox = stack.outputs.get(INBOX_OUTPUT)
    inbox_alerts = delivered(stack.client("sqs"), inbox, messages) if inbox and messages else []
    report = {
        "topicArn": stack.outputs[TOPIC_OUTPUT],
        "alarms": alarms,
        "stateChanges": history,
        "inboxUrl": inbox,
        "delivered": inbox_alerts,
    }
    if as_json:
        console().print_json(json.dumps(report))
        return
    _print(report, since)


def _print(report: dict[str, Any], since: int) -> None:
    out = console()
    firing = sum(1 for alarm in report["alarms"] if alarm["state"] == "ALARM")
    table = Table(title=f"Alarms: {firing} firing of {len(report['alarms'])}")
    for column in ("alarm", "state", "since", "reason"):
        table.add_column(column, overflow="fold")
    for alarm in report["alarms"]:
        state = alarm["state"]
        table.add_row(
            alarm["name"], f"[{_STYLE.get(state, '')}]{state}[/]", alarm["since"], alarm["reason"]
        )
    out.print(table)
    changes = Table(title=f"State changes, last {since} min (newest first)")
    for column in ("time", "alarm", "from", "to", "reason"):
        changes.add_column(column, overflow="fold")
    for change in report["stateChanges"]:
        to = change["to"]
        changes.add_row(
            change["time"], change["alarm"], change["from"], f"[{_STYLE.get(to, '')}]{to}[/]",
            change["reason"],
        )  # fmt: skip
    out.print(changes if report["stateChanges"] else f"No state change in the last {since} min.")
    if report["inboxUrl"] is None:
        out.print(
            f"No alerts inbox on this stage: alerts go to {report['topicArn']}'s subscribers."
        )
        return
    inbox = Table(title="Alerts delivered to the inbox (peeked, newest first)")
    for column in ("time", "alarm", "from", "to", "reason"):
        inbox.add_column(column, overflow="fold")
    for alert in report["delivered"]:
        inbox.add_row(alert["time"], alert["alarm"], alert["from"], alert["to"], alert["reason"])
    out.print(inbox if report["delivered"] else "No alert delivered to the inbox.")


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts_command)
