"""``orderflow webhooks deliveries <id>`` and ``orderflow webhooks redeliver <id> <messageId>``:
a webhook subscription's attempt log, and a message sent again, for an operator.

The operator's view of every client's subscriptions (the API shows a client its own): the
attempt log is read from the deliveries table (output ``WebhookDeliveriesTableName``) and a
redelivery is queued on the delivery queue (``WebhookDeliveryQueueUrl``) with the webhooks
service's own code (``functions/webhooks``), as ``POST .../redeliver`` does: the same
``webhook-id``, as a first attempt.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from orderflow_cli.stack import console, fail, import_functions, stack_of

import_functions()  # the webhooks service's models, attempt log and queue (functions/webhooks)

from webhooks.dal.deliveries import DeliveriesTable  # noqa: E402
from webhooks.dal.queue import DeliveryQueues  # noqa: E402
from webhooks.errors import MessageNotFound  # noqa: E402
from webhooks.logic.subscriptions import requeue  # noqa: E402
from webhooks.models import SUBSCRIPTION_ID_PATTERN, Attempt  # noqa: E402

DELIVERIES_OUTPUT = "WebhookDeliveriesTableName"
QUEUE_OUTPUT = "WebhookDeliveryQueueUrl"
DLQ_OUTPUT = "WebhookDlqUrl"
_STYLE = {"delivered": "green", "failed": "red", "refused": "bold red", "skipped": "yellow"}

webhooks = typer.Typer(help="Webhook subscriptions: their delivery attempts, redelivery.")


def _subscription_id(value: str) -> str:
    if not re.match(SUBSCRIPTION_ID_PATTERN, value):
        raise typer.BadParameter("a webhook id looks like wh_ and 24 hex digits")
    return value


@webhooks.command("deliveries")
def deliveries_command(
    ctx: typer.Context,
    subscription_id: Annotated[
        str, typer.Argument(metavar="ID", help="The webhook (wh_...).", callback=_subscription_id)
    ],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Attempts shown.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The webhook's latest delivery attempts, newest first: status code or error, duration."""
    stack = stack_of(ctx)
    table = DeliveriesTable(stack.output(DELIVERIES_OUTPUT))
    try:
        attempts = table.attempts(subscription_id, limit)
    except ClientError as error:
        fail(f"DynamoDB refused: {error}", code=1)
    if as_json:
        console().print_json(json.dumps([a.to_wire() for a in attempts]))
        return
    _print(subscription_id, attempts)


@webhooks.command("redeliver")
def redeliver_command(
    ctx: typer.Context,
    subscription_id: Annotated[
        str, typer.Argument(metavar="ID", help="The webhook (wh_...).", callback=_subscription_id)
    ],
    message_id: Annotated[str, typer.Argument(metavar="MESSAGE_ID", help="Its webhook-id.")],
) -> None:
    """Queue a message the webhook was sent before again (same webhook-id, first attempt)."""
    stack = stack_of(ctx)
    log = DeliveriesTable(stack.output(DELIVERIES_OUTPUT))
    queues = DeliveryQueues(stack.output(QUEUE_OUTPUT), stack.output(DLQ_OUTPUT))
    try:
        message = requeue(log, queues, subscription_id, message_id)
    except MessageNotFound:
        fail(f"no message {message_id} was sent to webhook {subscription_id}")
    except ClientError as error:
        fail(f"AWS refused: {error}", code=1)
    console().print(f"queued {message.message_id} for {subscription_id} ({message.event_type})")


def _print(subscription_id: str, attempts: list[Attempt]) -> None:
    out = console()
    if not attempts:
        out.print(f"No delivery attempt recorded for {subscription_id}.")
        return
    table = Table(title=f"Deliveries of {subscription_id} (newest first, UTC)")
    for column in ("at", "message", "event", "attempt", "outcome", "status", "ms", "error"):
        table.add_column(column, overflow="fold")  # folded, never cut: `redeliver` takes the id
    for attempt in attempts:
        style = _STYLE.get(attempt.outcome, "")
        table.add_row(
            f"{attempt.at:%m-%d %H:%M:%S}",
            attempt.message_id,
            attempt.event_type,
            str(attempt.attempt),
            f"[{style}]{attempt.outcome}[/]",
            "" if attempt.status_code is None else str(attempt.status_code),
            str(attempt.duration_ms),
            attempt.error or "",
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks, name="webhooks")
