"""``orderflow logs <orderId>``: every log line the stack wrote about one order, from every
function's log group (and the saga's execution log), merged in time order.

Which lines: a function's lines are Powertools JSON; those about an order carry ``order_id``,
and every line of the flow carries its ``correlation_id`` (``shared_kernel.observability``),
including the lines written before the order id was known (the start of ``POST /orders``). So:
first the lines with the order's id, then the lines with the correlation ids those carry
(a line of another order that shares a correlation id is left out). The state machine's
execution log (failures only) names the order inside the execution's input: its lines that
hold the order id as a word are kept.

Which log groups: the stack's ``AWS::Logs::LogGroup`` resources (every function has its own,
so has the saga), plus Lambda's default ``/aws/lambda/<name>`` of every function of the stack
(where a function without a group of its own writes; one that does not exist is skipped).

The filtering is asked of CloudWatch Logs (``FilterLogEvents`` with a JSON filter pattern,
``{ $.order_id = "…" }``) and done again here, on every line returned: LocalStack's and moto's
CloudWatch Logs ignore JSON filter patterns and return every line of the window, so the
client-side check is what makes the answer right on the emulator, and costs nothing on AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.markup import escape
from rich.text import Text

from orderflow_cli.names import DisplayNames, display_names
from orderflow_cli.stack import StackRef, console, fail, stack_of
from orderflow_cli.trace import order_filter, parse_since

SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:@+/-]{1,128}$")
"""Values put into a filter pattern as they are; any other (a correlation id may hold a quote)
is matched here only."""
POWERTOOLS_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "order_id",
        "xray_trace_id",
        "sampling_rate",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
"""Keys every line has, shown in columns or not at all; the others are the line's extras."""
EXECUTION_FAILURES = ("Failed", "TimedOut", "Aborted")
"""Execution log event types that are failures (``TaskFailed``, ``ExecutionTimedOut``...)."""
LEVEL_STYLE = {"CRITICAL": "bold red", "ERROR": "bold red", "WARNING": "yellow", "DEBUG": "dim"}
WORKERS = 8


@dataclass(frozen=True)
class LogGroups:
    functions: list[str]
    """Log groups whose lines are Powertools JSON."""
    executions: list[str]
    """The state machines' execution logs."""


def stack_log_groups(stack: StackRef) -> LogGroups:
    """The stack's log groups (CloudFormation's resources), the saga's told apart by the
    state machines' logging configuration."""
    try:
        resources = stack.resources()
    except ClientError as error:
        fail(f"cannot list the resources of stack {stack.name!r}: {error}", code=1)

    def physical(kind: str) -> list[str]:
        return sorted(
            r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == kind and r.get("PhysicalResourceId")
        )

    groups = set(physical("AWS::Logs::LogGroup"))
    executions: set[str] = set()
    sfn = stack.client("stepfunctions")
    for arn in physical("AWS::StepFunctions::StateMachine"):
        config = sfn.describe_state_machine(stateMachineArn=arn).get("loggingConfiguration", {})
        for destination in config.get("destinations", []):
            group_arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
            # arn:aws:logs:<region>:<account>:log-group:<name>:*
            if ":log-group:" in group_arn:
                executions.add(group_arn.split(":log-group:", 1)[1].removesuffix(":*"))
    defaults = {f"/aws/lambda/{name}" for name in physical("AWS::Lambda::Function")}
    functions = sorted((groups | defaults) - executions)
    return LogGroups(functions=functions, executions=sorted(executions & groups))


@dataclass
class LogLine:
    group: str
    event_id: str
    ingested_ms: int
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        """When the line was written: Powertools' ``timestamp`` (the emulator gives every
        line of an invocation the same event time), a state machine's ``event_timestamp``,
        else CloudWatch's event time."""
        return _parse_time(self.fields) or datetime.fromtimestamp(self.ingested_ms / 1000, UTC)

    @property
    def is_execution(self) -> bool:
        return "execution_arn" in self.fields and "level" not in self.fields

    @property
    def level(self) -> str:
        if self.is_execution:
            kind = str(self.fields.get("type", ""))
            return "ERROR" if any(word in kind for word in EXECUTION_FAILURES) else "INFO"
        return str(self.fields.get("level", "INFO")).upper()

    @property
    def resource(self) -> str:
        """The physical name of what wrote the line: the function (Powertools'
        ``function_name``, else its log group's last part), or the state machine."""
        if self.is_execution:
            parts = str(self.fields.get("execution_arn", "")).split(":")
            return parts[-2] if len(parts) >= 2 else ""
        return str(self.fields.get("function_name") or self.group.rsplit("/", 1)[-1])

    def source(self, names: DisplayNames, labels: dict[str, str]) -> str:
        """Who wrote the line, as people read it: ``orders/place-order``, ``saga``; a name
        not resolved (``orderflow_cli.names``) shortened, after the service (Powertools)."""
        label = labels.get(self.resource, self.resource)
        if names.resolved(self.resource):
            return label
        if self.is_execution:
            return f"saga {label}".strip()
        service = self.fields.get("service")
        return f"{service}/{label}" if service else label

    @property
    def message(self) -> str:
        if self.is_execution:
            details = self.fields.get("details") or {}
            said = details.get("error") or details.get("cause") or ""
            return f"{self.fields.get('type')} {said}".strip()
        message = self.fields.get("message", "")
        return message if isinstance(message, str) else json.dumps(message)

    @property
    def extras(self) -> dict[str, Any]:
        if self.is_execution:
            return {}
        found = {k: v for k, v in self.fields.items() if k not in POWERTOOLS_KEYS}
        if self.fields.get("exception_name"):
            found["exception"] = self.fields["exception_name"]
        return found

    def to_json(self) -> dict[str, Any]:
        return {"logGroup": self.group, "eventId": self.event_id, **self.fields}


def _parse_time(fields: dict[str, Any]) -> datetime | None:
    stamp = fields.get("timestamp")
    if isinstance(stamp, str):
        for form in ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%d %H:%M:%S.%f%z"):
            try:
                return datetime.strptime(stamp, form).astimezone(UTC)
            except ValueError:
                pass
        try:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    event_time = fields.get("event_timestamp")
    if isinstance(event_time, str) and event_time.isdigit():
        return datetime.fromtimestamp(int(event_time) / 1000, UTC)
    return None


def _parse(group: str, event: dict[str, Any]) -> LogLine | None:
    raw = str(event.get("message", "")).strip()
    try:
        fields = json.loads(raw)
    except ValueError:
        return None  # START/END/REPORT lines, prints: not about an order
    if not isinstance(fields, dict):
        return None
    return LogLine(group, str(event.get("eventId")), int(event.get("timestamp", 0)), raw, fields)


def json_pattern(key: str, values: Iterable[str]) -> str | None:
    """``{ ($.key = "a") || ($.key = "b") }``; None (no server-side filter) when a value is
    not safe to quote in a filter pattern."""
    values = sorted(set(values))
    if not values or not all(SAFE_VALUE.match(value) for value in values):
        return None
    return "{ " + " || ".join(f'($.{key} = "{value}")' for value in values) + " }"


def _events(logs: Any, group: str, pattern: str | None, start_ms: int, end_ms: int) -> list[Any]:
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms}
    if pattern:
        kwargs["filterPattern"] = pattern
    try:
        pages = logs.get_paginator("filter_log_events").paginate(**kwargs)
        return [event for page in pages for event in page.get("events", [])]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return []  # a function that never ran has no log group yet
        raise


@dataclass
class Search:
    """One query over many groups; a group whose answer shows it ignored the pattern (lines
    the pattern excludes) is not asked again: its answer is every line of the window."""

    logs: Any
    start_ms: int
    end_ms: int
    unfiltered: dict[str, list[LogLine]] = field(default_factory=dict)

    def lines(self, groups: list[str], pattern: str | None, keep: Any) -> list[LogLine]:
        def one(group: str) -> list[LogLine]:
            if group in self.unfiltered:
                return [line for line in self.unfiltered[group] if keep(line)]
            events = _events(self.logs, group, pattern, self.start_ms, self.end_ms)
            parsed = [line for event in events if (line := _parse(group, event))]
            kept = [line for line in parsed if keep(line)]
            if pattern is None or len(kept) < len(parsed) or len(parsed) < len(events):
                self.unfiltered[group] = parsed
            return kept

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return [line for found in pool.map(one, groups) for line in found]


def order_lines(
    logs: Any, groups: LogGroups, order_id: str, start: datetime, end: datetime
) -> list[LogLine]:
    """Every line about the order, oldest first (duplicates, by log group and event id, once)."""
    search = Search(logs, int(start.timestamp() * 1000), int(end.timestamp() * 1000) + 1)
    by_order = search.lines(
        groups.functions,
        json_pattern("order_id", [order_id]),
        lambda line: line.fields.get("order_id") == order_id,
    )
    correlations = {
        str(line.fields["correlation_id"]) for line in by_order if line.fields.get("correlation_id")
    }
    by_correlation = (
        search.lines(
            groups.functions,
            json_pattern("correlation_id", correlations),
            lambda line: (
                str(line.fields.get("correlation_id")) in correlations
                and line.fields.get("order_id") in {None, order_id}
            ),
        )
        if correlations
        else []
    )
    word = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(order_id)}(?![A-Za-z0-9-])")
    executions = Search(search.logs, search.start_ms, search.end_ms).lines(
        groups.executions, f'"{order_id}"', lambda line: bool(word.search(line.raw))
    )
    unique = {(line.group, line.event_id): line for line in by_order + by_correlation + executions}
    return sorted(unique.values(), key=lambda line: (line.time, line.ingested_ms, line.event_id))


def _print_lines(lines: list[LogLine], order_id: str, names: DisplayNames) -> None:
    out = console()
    labels = names.labels({line.resource for line in lines})
    source = {id(line): line.source(names, labels) for line in lines}
    sources = sorted(set(source.values()))
    errors = sum(line.level in {"ERROR", "CRITICAL"} for line in lines)
    out.print(
        f"[bold]order {escape(order_id)}[/]: {len(lines)} log lines from "
        f"{len(sources)} functions"
        + (f", [bold red]{errors} error(s)[/]" if errors else ", no errors"),
        highlight=False,
    )
    width = max(len(source) for source in sources)
    for line in lines:
        style = LEVEL_STYLE.get(line.level, "")
        text = Text()
        text.append(line.time.strftime("%H:%M:%S.%f")[:-3] + " ", style="dim")
        text.append(source[id(line)].ljust(width) + " ", style="cyan")
        text.append(f"{line.level:<7} ", style=style or "green")
        text.append(line.message, style=style if line.level in {"ERROR", "CRITICAL"} else "")
        for key, value in line.extras.items():
            shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            text.append(f"  {key}=", style="dim")
            text.append(shown[:200], style="dim")
        out.print(text, soft_wrap=True)


def logs_command(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    *,
    since: Annotated[
        str,
        typer.Option(
            "--since", help="From then: a duration (30s, 90m, 6h, 2d) or an ISO 8601 time."
        ),
    ] = "6h",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the raw JSON lines (one per line) instead.")
    ] = False,
) -> None:
    """Every log line of the stack's functions about one order, in time order.

    Exit code 1 if no line mentions the order in the window; 2 on bad input.
    """
    try:
        order_filter(order_id)
    except ValueError as error:
        fail(str(error))
    end = datetime.now(UTC)
    start = parse_since(since, end)
    stack = stack_of(ctx)
    groups = stack_log_groups(stack)
    try:
        lines = order_lines(stack.client("logs"), groups, order_id, start, end)
    except ClientError as error:
        fail(f"CloudWatch Logs refused: {error}", code=1)
    if not lines:
        fail(
            f"no log line about order {order_id!r} since {start.isoformat(timespec='seconds')} "
            f"in the {len(groups.functions) + len(groups.executions)} log groups of stack "
            f"{stack.name!r} (a wrong id, an order older than --since, or lines not delivered "
            "yet: CloudWatch Logs takes a few seconds)",
            code=1,
        )
    if as_json:
        for line in lines:
            typer.echo(line.raw)
        return
    _print_lines(lines, order_id, display_names(stack))


def register(app: typer.Typer) -> None:
    app.command("logs")(logs_command)
