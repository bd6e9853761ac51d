"""``orderflow dlq`` and ``orderflow redrive``: the stack's dead-letter queues, what is in them
and why, and moving their messages back to where they failed.

Finding the DLQs: every SQS queue of the stack (CloudFormation's resources of the stack) that
is a DLQ by any of three signs: the ``orderflow:role=dead-letter`` tag that
``infra.queues.dead_letter_queue`` puts on every DLQ it makes (rule targets', a stream's
on-failure destination, the saga's malformed-events queue included), another queue's
``RedrivePolicy`` naming it, or a rule of the bus naming it as a target's
``DeadLetterConfig``. The last two also say where its messages came from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from orderflow_cli.stack import StackRef, console, fail, stack_of

ROLE_TAG = "orderflow:role"
DEAD_LETTER_ROLE = "dead-letter"
"""As ``infra.queues`` tags every DLQ (the CLI does not import infra: it runs without CDK)."""

EVENTBRIDGE_ATTRIBUTES = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE")
"""Message attributes EventBridge sets on an event it dead-letters after a target's retries."""

PEEK_BATCH = 10
PEEK_VISIBILITY_S = 30
"""How long a peeked message is hidden at most (it is made visible again as soon as the
command has read the messages it shows)."""


@dataclass
class DeadLetterQueue:
    """A DLQ of the stack and where its messages come from."""

    logical_id: str
    url: str
    arn: str
    visible: int
    in_flight: int
    redrive_sources: list[str] = field(default_factory=list)  # queue ARNs (RedrivePolicy)
    rule_targets: list[tuple[str, str]] = field(default_factory=list)  # (rule ARN, target ARN)

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def source_queues(self) -> list[str]:
        """The queues its messages belong back in: the queues that redrive into it, and the
        SQS targets of the rules that dead-letter into it."""
        rule_queues = [target for _, target in self.rule_targets if ":sqs:" in target]
        return sorted(set(self.redrive_sources) | set(rule_queues))

    def describe_sources(self) -> str:
        parts = [f"redrive from {_short(arn)}" for arn in self.redrive_sources]
        parts += [f"rule {_short(rule)} -> {_short(target)}" for rule, target in self.rule_targets]
        return "; ".join(parts) or "sent to directly (no redrive policy or rule names it)"

    def to_json(self) -> dict[str, Any]:
        return {
            "logicalId": self.logical_id,
            "name": self.name,
            "url": self.url,
            "arn": self.arn,
            "depth": self.visible,
            "inFlight": self.in_flight,
            "redriveSources": self.redrive_sources,
            "ruleTargets": [{"rule": rule, "target": target} for rule, target in self.rule_targets],
        }


def _short(arn: str) -> str:
    """The last part of an ARN (``…:queue-name``, ``…rule/bus/name``)."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def stack_queue_urls(stack: StackRef) -> dict[str, str]:
    """Logical id -> URL of every SQS queue of the stack (CloudFormation's resources)."""
    cloudformation = stack.client("cloudformation")
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack.name)
        return {
            resource["LogicalResourceId"]: resource["PhysicalResourceId"]
            for page in pages
            for resource in page["StackResourceSummaries"]
            if resource["ResourceType"] == "AWS::SQS::Queue" and resource.get("PhysicalResourceId")
        }
    except ClientError as error:
        fail(f"cannot list the resources of stack {stack.name!r}: {error}")


def rule_dead_letter_targets(stack: StackRef) -> dict[str, list[tuple[str, str]]]:
    """DLQ ARN -> (rule ARN, target ARN) of every target of a rule of the bus that has one."""
    events = stack.client("events")
    bus = stack.output("BusName")
    found: dict[str, list[tuple[str, str]]] = {}
    for rule in _all(events.list_rules, "Rules", EventBusName=bus):
        targets = _all(events.list_targets_by_rule, "Targets", Rule=rule["Name"], EventBusName=bus)
        for target in targets:
            dlq = target.get("DeadLetterConfig", {}).get("Arn")
            if dlq:
                found.setdefault(dlq, []).append((rule["Arn"], target["Arn"]))
    return found


def _all(call: Callable[..., Any], key: str, **kwargs: Any) -> list[Any]:
    """Every item of a NextToken-paged events API call."""
    items: list[Any] = []
    while True:
        page = call(**kwargs)
        items += page.get(key, [])
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def find_dead_letter_queues(stack: StackRef) -> list[DeadLetterQueue]:
    """Every DLQ of the stack, by logical id."""
    stack.output("BusName")  # the outputs first: a clear error before any AWS call
    sqs = stack.client("sqs")
    queues = stack_queue_urls(stack)
    attributes = {
        logical_id: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for logical_id, url in queues.items()
    }
    redrive_sources: dict[str, list[str]] = {}
    for attrs in attributes.values():
        if policy := attrs.get("RedrivePolicy"):
            target = json.loads(policy)["deadLetterTargetArn"]
            redrive_sources.setdefault(target, []).append(attrs["QueueArn"])
    rule_targets = rule_dead_letter_targets(stack)
    found = []
    for logical_id, url in sorted(queues.items()):
        attrs = attributes[logical_id]
        arn = attrs["QueueArn"]
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        tagged = tags.get(ROLE_TAG) == DEAD_LETTER_ROLE
        if not (tagged or arn in redrive_sources or arn in rule_targets):
            continue
        found.append(
            DeadLetterQueue(
                logical_id=logical_id,
                url=url,
                arn=arn,
                visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                redrive_sources=sorted(redrive_sources.get(arn, [])),
                rule_targets=sorted(rule_targets.get(arn, [])),
            )
        )
    return found


# --- what is in a DLQ, and why ---------------------------------------------------------------


def peek(sqs: Any, url: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` messages of the queue, left in it. Each is received with a short
    visibility timeout (so that the next receive returns others), then made visible again at
    once (``ChangeMessageVisibility`` 0); should the command die in between, they are visible
    again after ``PEEK_VISIBILITY_S``. SQS still counts each receive in the message's
    ``ApproximateReceiveCount`` (a DLQ has no redrive policy for that count to trigger)."""
    seen: dict[str, dict[str, Any]] = {}
    try:
        while len(seen) < limit:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(PEEK_BATCH, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_S,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = [message for message in messages if message["MessageId"] not in seen]
            if not new:
                break
            for message in new:
                seen[message["MessageId"]] = message
    finally:
        handles = [message["ReceiptHandle"] for message in seen.values()]
        for first in range(0, len(handles), PEEK_BATCH):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for index, handle in enumerate(handles[first : first + PEEK_BATCH])
                ],
            )
    return list(seen.values())


def failure_reason(message: dict[str, Any]) -> dict[str, Any]:
    """Why a message is in a DLQ, from what AWS attached to it or what it says itself.

    - ``eventbridge``: a rule could not deliver it to its target after its retry policy; the
      attributes EventBridge sets say the rule, the target and the error.
    - ``malformed-event``: the saga's report of an OrderPlaced it could not read
      (``{error, reason, event}``).
    - ``stream-failure``: Lambda's on-failure record of a stream batch it gave up on.
    - ``redrive``: the consumer of its source queue failed it ``maxReceiveCount`` times (SQS
      moved it; the consumer's log has the error).
    """
    attributes = message.get("Attributes", {})
    message_attributes = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    receives = int(attributes.get("ApproximateReceiveCount", 0))
    if any(name in message_attributes for name in EVENTBRIDGE_ATTRIBUTES):
        return {
            "kind": "eventbridge",
            "summary": (
                f"{message_attributes.get('ERROR_CODE', '?')}: "
                f"{message_attributes.get('ERROR_MESSAGE', '')}".strip()
            ),
            "rule": message_attributes.get("RULE_ARN"),
            "target": message_attributes.get("TARGET_ARN"),
            "errorCode": message_attributes.get("ERROR_CODE"),
            "errorMessage": message_attributes.get("ERROR_MESSAGE"),
        }
    body = _json_body(message)
    if isinstance(body, dict) and "reason" in body and "event" in body:
        reason = _error_message(body["reason"])
        return {
            "kind": "malformed-event",
            "summary": f"{body.get('error', 'malformed')}: {reason}",
            "error": body.get("error"),
            "reason": reason,
        }
    if isinstance(body, dict) and "requestContext" in body and "responseContext" in body:
        request, response = body["requestContext"], body["responseContext"]
        return {
            "kind": "stream-failure",
            "summary": (
                f"{request.get('condition', '?')} after {request.get('approximateInvokeCount')}"
                f" invocations ({response.get('functionError') or 'no function error'})"
            ),
            "condition": request.get("condition"),
            "functionError": response.get("functionError"),
        }
    source = attributes.get("DeadLetterQueueSourceArn")
    return {
        "kind": "redrive",
        "summary": (
            f"failed by the consumer of {_short(source) if source else 'its source queue'} "
            f"(received {receives} times in all)"
        ),
        "sourceQueue": source,
    }


def _error_message(cause: Any) -> Any:
    """A Step Functions error cause is the Lambda error as JSON (``errorMessage``,
    ``errorType``, ``stackTrace``): its message, without the trace."""
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return parsed["errorMessage"]
    return cause


def _json_body(message: dict[str, Any]) -> Any:
    try:
        return json.loads(message.get("Body", ""))
    except ValueError:
        return None


def describe_body(message: dict[str, Any]) -> str:
    """One line on what the message is (an EventBridge event: its type and subject)."""
    kind, subject = _kind_and_subject(message)
    if kind or subject:
        return " ".join(str(part) for part in (kind, subject) if part)
    text = str(message.get("Body", ""))
    return text[:60] + ("…" if len(text) > 60 else "")


def _kind_and_subject(message: dict[str, Any]) -> tuple[Any, Any]:
    """The event type and the CloudEvent subject (an order id, a SKU) of a message that carries
    an event, bare or as EventBridge sends it; (None, None) for anything else."""
    body = _json_body(message)
    if not isinstance(body, dict):
        return None, None
    event: dict[str, Any] = body["event"] if isinstance(body.get("event"), dict) else body
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else event
    return event.get("detail-type") or detail.get("type"), detail.get("subject")


def message_report(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return {
        "messageId": message["MessageId"],
        "sentAt": _iso(int(sent)) if sent else None,
        "receiveCount": int(attributes.get("ApproximateReceiveCount", 0)),
        "about": describe_body(message),
        "subject": subject if isinstance(subject := _kind_and_subject(message)[1], str) else None,
        "reason": failure_reason(message),
        "body": message.get("Body"),
    }


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))


def dlq_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    messages: Annotated[
        int, typer.Option("--messages", min=0, max=1000, help="Messages shown per DLQ (peeked).")
    ] = 10,
) -> None:
    """Every DLQ of the stack: its depth, its source, and per message why it failed.

    Messages are peeked, not consumed: received, then made visible again at once
    (ChangeMessageVisibility 0); SQS still counts each receive in ApproximateReceiveCount.
    """
    stack = stack_of(ctx)
    sqs = stack.client("sqs")
    report = []
    for dlq in find_dead_letter_queues(stack):
        peeked = peek(sqs, dlq.url, messages) if dlq.visible and messages else []
        report.append({**dlq.to_json(), "messages": [message_report(m) for m in peeked]})
    if as_json:
        console().print_json(json.dumps({"deadLetterQueues": report}))
        return
    _print_dlqs(report)


def _print_dlqs(report: list[dict[str, Any]]) -> None:
    overview = Table(title="Dead-letter queues (messages peeked: made visible again at once)")
    for column in ("queue", "depth", "in flight", "messages come from"):
        overview.add_column(column)
    for dlq in report:
        sources = DeadLetterQueue(
            logical_id=dlq["logicalId"],
            url=dlq["url"],
            arn=dlq["arn"],
            visible=dlq["depth"],
            in_flight=dlq["inFlight"],
            redrive_sources=dlq["redriveSources"],
            rule_targets=[(t["rule"], t["target"]) for t in dlq["ruleTargets"]],
        ).describe_sources()
        overview.add_row(
            f"{dlq['logicalId']}\n[dim]{dlq['name']}[/]",
            str(dlq["depth"]),
            str(dlq["inFlight"]),
            sources,
        )
    console().print(overview)
    for dlq in report:
        if not dlq["messages"]:
            continue
        table = Table(title=f"{dlq['logicalId']}: {dlq['depth']} message(s)")
        for column in ("message", "sent", "receives", "about", "why it failed"):
            table.add_column(column)
        for message in dlq["messages"]:
            table.add_row(
                message["messageId"],
                message["sentAt"] or "",
                str(message["receiveCount"]),
                message["about"],
                f"[bold]{message['reason']['kind']}[/]: {message['reason']['summary']}",
            )
        console().print(table)


# --- redrive ---------------------------------------------------------------------------------

MOVE_TASK_DONE = {"COMPLETED", "CANCELLED", "FAILED"}
MOVE_TASK_UNSUPPORTED = {"UnsupportedOperation", "InvalidAction", "NotImplemented"}
"""Error codes of an SQS that does not implement StartMessageMoveTask: the messages are then
moved by receive, send, delete, and the command says so."""


@dataclass
class RedriveResult:
    queue: str
    destination: str
    method: str  # "StartMessageMoveTask", "receive-send-delete" or "dry-run"
    depth_before: int
    depth_after: int
    moved: int
    status: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "destination": self.destination,
            "method": self.method,
            "depthBefore": self.depth_before,
            "depthAfter": self.depth_after,
            "moved": self.moved,
            "status": self.status,
            "note": self.note,
        }


def resolve(dlqs: Iterable[DeadLetterQueue], stack: StackRef, wanted: str) -> DeadLetterQueue:
    """The DLQ ``wanted`` names: its queue name, URL, ARN, logical id (or its start), or the
    stack output holding its URL (``ProjectorDlqUrl``)."""
    dlqs = list(dlqs)
    url = stack.outputs.get(wanted, wanted)
    exact = [d for d in dlqs if url in (d.url, d.arn, d.name, d.logical_id)]
    matches = exact or [d for d in dlqs if d.logical_id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(d.logical_id for d in matches or dlqs)
    if not matches:
        fail(f"{wanted!r} is not a dead-letter queue of the stack; its DLQs: {names}")
    fail(f"{wanted!r} names more than one DLQ: {names}")


def destination_of(dlq: DeadLetterQueue) -> str:
    """The queue a DLQ's messages go back to: its one source queue. A DLQ of a rule whose
    target is not a queue (a state machine, a topic), or a report queue, has none: its
    messages are events to put on the bus again, or reports to act on."""
    sources = dlq.source_queues
    if len(sources) == 1:
        return sources[0]
    if not sources:
        fail(
            f"{dlq.logical_id} has no source queue to move its messages back to "
            f"({dlq.describe_sources()}); `orderflow dlq` shows what they are"
        )
    fail(f"{dlq.logical_id} has several source queues ({', '.join(sources)}); not guessing")


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def move_with_task(sqs: Any, dlq: DeadLetterQueue, destination: str, wait_s: float) -> Any:
    """SQS's own redrive: ``StartMessageMoveTask``, then ``ListMessageMoveTasks`` until the task
    ends (bounded by ``wait_s``). Returns the task's last entry, or None when the service does
    not implement it."""
    try:
        handle = sqs.start_message_move_task(SourceArn=dlq.arn, DestinationArn=destination)[
            "TaskHandle"
        ]
    except NotImplementedError:  # an in-process emulator (moto) that lacks it
        return None
    except ClientError as error:
        if error.response["Error"]["Code"] in MOVE_TASK_UNSUPPORTED:
            return None
        fail(f"StartMessageMoveTask refused: {error}", code=1)
    deadline = time.monotonic() + wait_s
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=10)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        if task.get("Status") in MOVE_TASK_DONE or time.monotonic() > deadline:
            return task
        time.sleep(0.5)


def move_by_hand(sqs: Any, dlq: DeadLetterQueue, destination_url: str) -> int:
    """Receive, send to the destination (body and attributes as they were), delete; until the
    DLQ answers empty. A message is deleted only after it was sent (at least once)."""
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq.url,
            MaxNumberOfMessages=PEEK_BATCH,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            entry: dict[str, Any] = {"QueueUrl": destination_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**entry)
            sqs.delete_message(QueueUrl=dlq.url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def redrive(stack: StackRef, wanted: str, *, dry_run: bool, wait_s: float = 60) -> RedriveResult:
    sqs = stack.client("sqs")
    dlq = resolve(find_dead_letter_queues(stack), stack, wanted)
    destination = destination_of(dlq)
    before = depth(sqs, dlq.url)
    if dry_run:
        return RedriveResult(dlq.logical_id, destination, "dry-run", before, before, 0, "not run")
    task = move_with_task(sqs, dlq, destination, wait_s)
    if task is not None:
        after = depth(sqs, dlq.url)
        moved = int(task.get("ApproximateNumberOfMessagesMoved", before - after))
        note = task.get("FailureReason", "")
        status = task.get("Status", "UNKNOWN")
        return RedriveResult(
            dlq.logical_id, destination, "StartMessageMoveTask", before, after, moved, status, note
        )
    destination_url = sqs.get_queue_url(QueueName=_short(destination))["QueueUrl"]
    moved = move_by_hand(sqs, dlq, destination_url)
    return RedriveResult(
        dlq.logical_id,
        destination,
        "receive-send-delete",
        before,
        depth(sqs, dlq.url),
        moved,
        "COMPLETED",
        "this SQS does not implement StartMessageMoveTask: moved by receive, send, delete",
    )


def redrive_command(
    ctx: typer.Context,
    queue: Annotated[
        str,
        typer.Argument(
            help="The DLQ: its name, URL, ARN, logical id (or its start), or the output "
            "holding its URL (ProjectorDlqUrl)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would move; move nothing.")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", min=1, help="Seconds to wait for the move task to end.")
    ] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Move a DLQ's messages back to the queue they failed in (SQS StartMessageMoveTask).

    The destination is the DLQ's source queue: the queue whose redrive policy names it, or
    the queue a rule delivers to when the DLQ is that rule target's (in this stack a queue
    and its rule target share one DLQ). Exit code 1 if the move task did not complete.
    """
    result = redrive(stack_of(ctx), queue, dry_run=dry_run, wait_s=wait)
    if as_json:
        console().print_json(json.dumps(result.to_json()))
    elif dry_run:
        console().print(
            f"dry run: {result.depth_before} message(s) in {result.queue} would move to "
            f"{_short(result.destination)}; nothing moved"
        )
    else:
        console().print(
            f"{result.method}: {result.status}, {result.moved} message(s) moved from "
            f"{result.queue} to {_short(result.destination)} (DLQ depth {result.depth_before}"
            f" -> {result.depth_after})" + (f"; {result.note}" if result.note else "")
        )
    if result.status not in {"COMPLETED", "not run"}:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("dlq")(dlq_command)
    app.command("redrive")(redrive_command)
