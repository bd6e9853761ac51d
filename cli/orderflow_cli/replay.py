"""``orderflow replay``: replay the bus's archive into the read model, one of two targets.

- ``--into-new-read-model``: rebuild the read model into a new table, and compare it with the
  live one (below).
- ``--into-live-read-model``: record in the live views table the events of the window it
  lacks; those it holds are left as they are (the projector recognises an event it recorded
  by its id). That fills in a read model that missed events: a stack deployed before the
  views table existed (its orders' histories were on the orders table, and the new table
  starts empty), or events that sat in the projection DLQ past its retention. An order of
  which the live model holds some events gets the missing ones after them, numbered as they
  are recorded (a history's sequence is the order in which events reached the read model);
  an order it lacks entirely is recorded in the order of its events' times.

How: EventBridge ``StartReplay`` of the archive (``ArchiveArn``) for the window, to the bus
with ``FilterArns`` = the replay rule (``ReplayRuleArn``: the projector's events, carrying
``replay-name``), which delivers them to ``ReplayQueueUrl``; this command drains that queue and
records each event in the target table (a new one has the views table's keys) with the
projector's own code (``orders.logic.projection.project`` and ``orders.dal.views.OrderViews``),
the same parse (``from_eventbridge``) included. The live projector never sees a replayed event:
the replay names only the replay rule.

What ``--into-new-read-model`` compares, per order whose ``OrderPlaced`` is in the window (an
order placed before ``--from`` cannot be rebuilt from it: it is listed as skipped, not
compared):

- the view (status, reason, customer, items, total, placedAt): ``lastSequence`` and
  ``updatedAt`` are bookkeeping of the projector run, not content;
- the history as ``GET /orders/{id}`` shows it (``orders.logic.read_model.order_details``):
  the status derived from it, and its events in the read model's own order (by ``sequence``),
  each with its id, type, source, time and data. The sequence numbers themselves are not
  compared: live, they follow the order in which events reached the projector; the replay
  records an order's events in the order of their CloudEvent time (ties: arrival), so the two
  agree unless the live projector recorded an event after a later one (a failed projection
  retried), which then shows as a difference in the order of events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from orderflow_cli.stack import StackRef, console, fail, import_functions, stack_of

import_functions()  # the projector's code (orders.*) and the shared kernel

from orders import events as order_events  # noqa: E402
from orders.dal.views import VIEW_SK, OrderViews, history_of, view_key  # noqa: E402
from orders.logic.projection import project  # noqa: E402
from orders.logic.read_model import order_details  # noqa: E402
from shared_kernel.cloudevents import CloudEvent, from_eventbridge  # noqa: E402
from shared_kernel.errors import MalformedEventError  # noqa: E402

VIEW_FIELDS = ("status", "reason", "customerId", "items", "total", "placedAt")
REPLAY_DONE = {"COMPLETED"}
REPLAY_FAILED = {"FAILED", "CANCELLED"}


def parse_time(value: str) -> datetime:
    """ISO 8601 (``2026-12-01T02:00:00Z``; without an offset: UTC) or ``now``."""
    if value == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time ({error})") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def whole_seconds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window widened to whole seconds: an event's ``time`` on the bus has no fraction
    (``2026-12-01T02:19:46Z``), so an event put at 02:19:46.700 is archived at 02:19:46 and a
    window starting at 02:19:46.500 would leave it out."""
    ceiling = end if end.microsecond == 0 else end.replace(microsecond=0) + timedelta(seconds=1)
    return start.replace(microsecond=0), ceiling


# --- the replay, and the table it is recorded in -------------------------------------------


def create_table(stack: StackRef, name: str) -> None:
    """A table with the views table's keys (``pk``, ``sk``), on demand, waited for."""
    dynamodb = stack.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "orderflow:role", "Value": "replayed-read-model"}],
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


@dataclass
class Drained:
    events: list[CloudEvent] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    other_replays: int = 0


def start_replay(
    stack: StackRef, name: str, start: datetime, end: datetime, wait_s: float
) -> dict[str, Any]:
    """StartReplay of the archive to the bus, for the replay rule only; waits (bounded) until
    EventBridge says it has sent every event of the window."""
    events = stack.client("events")
    archive_arn = stack.output("ArchiveArn")
    archive = events.describe_archive(ArchiveName=archive_arn.rsplit("/", 1)[-1])
    try:
        events.start_replay(
            ReplayName=name,
            EventSourceArn=archive_arn,
            EventStartTime=start,
            EventEndTime=end,
            Destination={
                "Arn": archive["EventSourceArn"],
                "FilterArns": [stack.output("ReplayRuleArn")],
            },
        )
    except ClientError as error:
        fail(f"StartReplay refused: {error}", code=1)
    deadline = time.monotonic() + wait_s
    while True:
        replay = events.describe_replay(ReplayName=name)
        if replay["State"] in REPLAY_DONE:
            return dict(replay)
        if replay["State"] in REPLAY_FAILED:
            fail(f"replay {name} {replay['State']}: {replay.get('StateReason', '')}", code=1)
        if time.monotonic() > deadline:
            fail(f"replay {name} still {replay['State']} after {wait_s:.0f} s", code=1)
        time.sleep(1)


def drain(stack: StackRef, replay_name: str, quiet_s: float, wait_s: float) -> Drained:
    """Receive the replay queue until it has been empty for ``quiet_s`` (EventBridge delivers
    a completed replay's events asynchronously; nothing says how many there are). Messages of
    another replay (an earlier run that did not finish) are deleted and counted."""
    sqs = stack.client("sqs")
    url = stack.output("ReplayQueueUrl")
    drained = Drained()
    deadline = time.monotonic() + wait_s
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        if time.monotonic() > deadline:
            fail(f"the replay queue was still receiving events after {wait_s:.0f} s", code=1)
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        if messages:
            quiet_since = time.monotonic()
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("replay-name") != replay_name:
                drained.other_replays += 1
            else:
                try:
                    drained.events.append(from_eventbridge(body))
                except MalformedEventError as error:
                    drained.malformed.append(f"{body.get('id')}: {error}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return drained


def rebuild(views: OrderViews, replayed: Iterable[CloudEvent]) -> tuple[int, list[str]]:
    """Record each event as the projector does, an order's events in the order of their time
    (a stable sort: events of one time keep their arrival order). Returns how many were new,
    and the events the projection refused (malformed data: the live projector refused them
    too, and they are in its DLQ), each with its reason."""
    recorded, refused = 0, []
    for event in sorted(replayed, key=lambda event: event.time):
        try:
            recorded += project(event, views)
        except MalformedEventError as error:
            refused.append(f"{event.id} ({event.type} {event.subject}): {error}")
    return recorded, refused


@dataclass(frozen=True)
class ReplayPlan:
    """A replay to run: its name, the archive's window, and the command's waits."""

    name: str
    start: datetime
    end: datetime
    quiet_s: float
    wait_s: float


@dataclass(frozen=True)
class Replayed:
    """A replay done: its final state, what was drained, and what was recorded of it."""

    plan: ReplayPlan
    state: str
    drained: Drained
    recorded: int
    refused: list[str]

    @property
    def already_recorded(self) -> int:
        return len(self.drained.events) - self.recorded - len(self.refused)

    def report(self) -> dict[str, Any]:
        """What either target reports of the replay itself."""
        events = self.drained.events
        return {
            "replay": self.plan.name,
            "state": self.state,
            "window": {"from": self.plan.start.isoformat(), "to": self.plan.end.isoformat()},
            "eventsReplayed": len(events),
            "eventsRecorded": self.recorded,
            "orders": len({event.subject for event in events}),
            "malformed": self.drained.malformed + self.refused,
            "otherReplaysDiscarded": self.drained.other_replays,
        }


def replay_into(stack: StackRef, views: OrderViews, plan: ReplayPlan) -> Replayed:
    """Replay the archive's window, drain the replay queue, and record its events in
    ``views`` with the projector's code."""
    replay = start_replay(stack, plan.name, plan.start, plan.end, plan.wait_s)
    drained = drain(stack, plan.name, plan.quiet_s, plan.wait_s)
    recorded, refused = rebuild(views, drained.events)
    return Replayed(plan, replay["State"], drained, recorded, refused)


# --- comparison ------------------------------------------------------------------------------


def views_of(table: Any) -> dict[str, dict[str, Any]]:
    """Order id -> its view item (history included), of a whole views table."""
    views: dict[str, dict[str, Any]] = {}
    scan: dict[str, Any] = {}
    while True:
        page = table.scan(**scan)
        for item in page.get("Items", []):
            if str(item["pk"]).startswith("ORDER#") and item["sk"] == VIEW_SK:
                views[str(item["pk"]).removeprefix("ORDER#")] = item
        if "LastEvaluatedKey" not in page:
            return views
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def view_of(table: Any, order_id: str) -> dict[str, Any] | None:
    return table.get_item(Key=view_key(order_id), ConsistentRead=True).get("Item")


def comparable(order_id: str, view: dict[str, Any] | None) -> dict[str, Any]:
    """What the comparison looks at (see the module's docstring), as plain JSON values."""
    details = order_details(order_id, None, history_of(view))
    view = view or {}
    shown = details.model_dump(mode="json", by_alias=True) if details else {}
    return {
        "view": _plain({name: view.get(name) for name in VIEW_FIELDS}),
        "status": shown.get("status"),
        "history": [
            {key: entry[key] for key in ("id", "type", "source", "time", "data")}
            for entry in shown.get("history", [])
        ],
    }


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as JSON values, so two reads compare equal."""
    return json.loads(json.dumps(value, default=str))


def differences(live: dict[str, Any], rebuilt: dict[str, Any]) -> list[str]:
    """What differs between two ``comparable`` orders, one line each."""
    found = []
    for name in VIEW_FIELDS:
        if live["view"][name] != rebuilt["view"][name]:
            found.append(
                f"view.{name}: live {live['view'][name]!r}, rebuilt {rebuilt['view'][name]!r}"
            )
    if live["status"] != rebuilt["status"]:
        found.append(f"status: live {live['status']}, rebuilt {rebuilt['status']}")
    live_events = {entry["id"]: entry for entry in live["history"]}
    rebuilt_events = {entry["id"]: entry for entry in rebuilt["history"]}
    for event_id in live_events.keys() - rebuilt_events.keys():
        found.append(f"event {event_id} ({live_events[event_id]['type']}) only in the live model")
    for event_id in rebuilt_events.keys() - live_events.keys():
        found.append(f"event {event_id} ({rebuilt_events[event_id]['type']}) only rebuilt")
    for event_id in live_events.keys() & rebuilt_events.keys():
        if live_events[event_id] != rebuilt_events[event_id]:
            found.append(
                f"event {event_id} differs: {live_events[event_id]} vs {rebuilt_events[event_id]}"
            )
    common = live_events.keys() & rebuilt_events.keys()
    live_order = [entry["type"] for entry in live["history"] if entry["id"] in common]
    rebuilt_order = [entry["type"] for entry in rebuilt["history"] if entry["id"] in common]
    if live_order != rebuilt_order:
        found.append(f"order of events: live {live_order}, rebuilt {rebuilt_order}")
    return found


@dataclass
class Comparison:
    compared: int = 0
    skipped: list[str] = field(default_factory=list)  # placed before the window
    differing: dict[str, list[str]] = field(default_factory=dict)


def compare(live_table: Any, rebuilt_table: Any) -> Comparison:
    """Every order rebuilt from an OrderPlaced in the window, against the live read model."""
    result = Comparison()
    for order_id, view in sorted(views_of(rebuilt_table).items()):
        rebuilt = comparable(order_id, view)
        if not any(e["type"] == order_events.ORDER_PLACED for e in rebuilt["history"]):
            result.skipped.append(order_id)
            continue
        result.compared += 1
        live = comparable(order_id, view_of(live_table, order_id))
        if found := differences(live, rebuilt):
            result.differing[order_id] = found
    return result


# --- the command -----------------------------------------------------------------------------


def replay_command(
    ctx: typer.Context,
    *,
    start: Annotated[
        str, typer.Option("--from", help="Start of the window (ISO 8601, UTC if no offset).")
    ],
    end: Annotated[str, typer.Option("--to", help="End of the window (ISO 8601, or now).")] = "now",
    into_new_read_model: Annotated[
        bool,
        typer.Option(
            "--into-new-read-model",
            help="Rebuild the read model into a new table and compare it with the live one.",
        ),
    ] = False,
    into_live_read_model: Annotated[
        bool,
        typer.Option(
            "--into-live-read-model",
            help="Record in the live read model the events of the window it lacks (a stack "
            "deployed before the views table, events lost from the projection DLQ).",
        ),
    ] = False,
    table: Annotated[
        str | None,
        typer.Option(
            help="Name of the new table (default: <views table>-replay-<time>); "
            "--into-new-read-model only."
        ),
    ] = None,
    drop: Annotated[
        bool,
        typer.Option(
            "--drop/--keep",
            help="Delete the new table after comparing (--into-new-read-model only).",
        ),
    ] = False,
    quiet: Annotated[
        float, typer.Option(min=0.5, help="Seconds the replay queue stays empty before done.")
    ] = 5,
    wait: Annotated[float, typer.Option(min=1, help="Bound on each wait, in seconds.")] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Replay the bus's archive between --from and --to into a freshly created read-model
    table and compare it with the live one (exit code 1 if any order differs), or into the
    live read model, recording only the events it lacks. A malformed event is reported and
    not recorded, as the live projector does not record it."""
    if into_new_read_model == into_live_read_model:
        fail(
            "say where to replay, one of: --into-new-read-model (rebuild and compare), "
            "--into-live-read-model (record what the live read model lacks)"
        )
    if into_live_read_model and (table is not None or drop):
        fail("--table and --drop name the new table of --into-new-read-model")
    window_start, window_end = whole_seconds(parse_time(start), parse_time(end))
    if window_start >= window_end:
        fail(f"--from ({window_start.isoformat()}) must be before --to ({window_end.isoformat()})")
    stack = stack_of(ctx)
    live_name = stack.output("OrderViewsTableName")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    plan = ReplayPlan(f"orderflow-read-model-{stamp}", window_start, window_end, quiet, wait)
    dynamodb = stack.resource("dynamodb")
    if into_live_read_model:
        replayed = replay_into(stack, OrderViews(live_name, dynamodb), plan)
        report = {
            **replayed.report(),
            "table": live_name,
            "live": True,
            "eventsAlreadyRecorded": replayed.already_recorded,
        }
        _report(report, as_json)
        return
    name = table or f"{live_name}-replay-{stamp}"
    create_table(stack, name)
    try:
        replayed = replay_into(stack, OrderViews(name, dynamodb), plan)
        result = compare(dynamodb.Table(live_name), dynamodb.Table(name))
    finally:
        if drop:
            stack.client("dynamodb").delete_table(TableName=name)
    report = {
        **replayed.report(),
        "table": name,
        "live": False,
        "kept": not drop,
        "ordersCompared": result.compared,
        "ordersSkipped": result.skipped,
        "differences": result.differing,
    }
    _report(report, as_json)
    if result.differing:
        raise typer.Exit(1)


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console().print_json(json.dumps(report))
    else:
        _print(report)


def _print(report: dict[str, Any]) -> None:
    target = (
        f"the live read model ({report['table']})"
        if report["live"]
        else f"table {report['table']}" + (" (kept)" if report["kept"] else " (dropped)")
    )
    console().print(
        f"replay {report['replay']} ({report['state']}): {report['eventsReplayed']} events "
        f"of {report['orders']} order(s) from {report['window']['from']} to "
        f"{report['window']['to']}, {report['eventsRecorded']} recorded into {target}"
    )
    if report["otherReplaysDiscarded"]:
        console().print(f"discarded {report['otherReplaysDiscarded']} events of earlier replays")
    for line in report["malformed"]:
        console().print(f"[yellow]malformed, not recorded (as live)[/]: {line}")
    if report["live"]:
        console().print(f"{report['eventsAlreadyRecorded']} event(s) were there already")
        return
    if report["ordersSkipped"]:
        console().print(
            f"{len(report['ordersSkipped'])} order(s) placed before --from, not compared: "
            + ", ".join(report["ordersSkipped"][:10])
            + (" …" if len(report["ordersSkipped"]) > 10 else "")
        )
    if not report["differences"]:
        console().print(f"[green]0 differences[/] in {report['ordersCompared']} order(s)")
        return
    table = Table(title=f"{len(report['differences'])} of {report['ordersCompared']} orders differ")
    table.add_column("order")
    table.add_column("difference")
    for order_id, lines in report["differences"].items():
        for line in lines:
            table.add_row(order_id, line)
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_command)
