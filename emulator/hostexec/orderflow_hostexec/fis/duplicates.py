"""Duplicate deliveries, the at-least-once delivery of SQS and EventBridge made visible: two
FIS actions of our own (offline only), served by the FIS provider like the Lambda actions.

``orderflow:sqs:duplicate-delivery`` (targets ``Functions``: the consumers of SQS event source
mappings; ``duration``, ``deliveryPercentage`` 1-100, default 100). A batch an event source
mapping delivers to a targeted function is drawn at ``deliveryPercentage``; every message of a
drawn batch is delivered once more *after* it was processed successfully: where the mapping
would delete it, the kit makes it visible again (``ChangeMessageVisibility`` 0) instead, so the
next poll receives it again, as SQS does when a message's visibility timeout expired before its
delete (the delete lost): same ``messageId``, body and attributes, a new ``receiptHandle``,
``ApproximateReceiveCount`` one higher, in a later batch (possibly with other messages). That
delivery deletes it as usual; a duplicate is never duplicated again. A message of a drawn batch
whose first delivery failed is retried as usual (visibility timeout, redrive policy) and
duplicated after the delivery that succeeds, if the action still runs. The extra receive counts
towards the queue's ``maxReceiveCount``, as on SQS: a message that succeeded on its last allowed
receive has its duplicate moved to the dead-letter queue instead.

``orderflow:events:duplicate-delivery`` (no targets: every rule of every bus of the
experiment's account and region; ``duration``, ``deliveryPercentage``). An event a rule
delivers to a target is drawn per target delivery; a drawn one is delivered to that target a
second time, the same event (same ``id``), right after the first attempt, through the kit's
delivery path (``event_delivery.py``): each copy gets the target's ``RetryPolicy`` and
``DeadLetterConfig`` on its own. Archives are not rule targets here (nothing is archived twice).

Each duplicate is counted per experiment and action (``faults.BOARD``: ``GET
/_orderflow/fis/faults``, and GetExperiment's action reason): ``injected`` duplicates of
``invocations`` = messages (SQS) or events (EventBridge) delivered to the targets while it ran.

The patches (``PATCHES``, kind ``kit``) wrap LocalStack's SQS poller and EventBridge target
sender; ``registry.py`` applies them after ``events.target-retry-and-dlq``, whose wrapper the
EventBridge duplicate goes through. Importing this module imports nothing of LocalStack's.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orderflow_hostexec.fis import faults
from orderflow_hostexec.patches import Patch, Target

LOG = logging.getLogger(__name__)

SQS_ACTION = "orderflow:sqs:duplicate-delivery"
EVENTS_ACTION = "orderflow:events:duplicate-delivery"
ACTIONS = {SQS_ACTION: "messages", EVENTS_ACTION: "events"}  # what ``invocations`` counts
VISIBILITY_BATCH = 10  # entries per ChangeMessageVisibilityBatch (SQS's limit)


@dataclass
class DuplicateDelivery(faults.ActiveAction):
    """A running duplicate-delivery action. ``functions`` stays empty, so the host executor's
    ``BOARD.plan`` never applies it to an invocation; ``consumers`` are the targeted functions
    (SQS), ``account``/``region`` the rules' scope (EventBridge)."""

    consumers: frozenset[str] = frozenset()  # unqualified function ARNs
    account: str = ""
    region: str = ""
    owed: set[str] = field(default_factory=set)  # delivered in a drawn batch, not yet again
    duplicated: set[str] = field(default_factory=set)  # made visible again once
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def of(
        cls, *, functions: frozenset[str], account: str, region: str, **fields: Any
    ) -> DuplicateDelivery:
        return cls(
            functions=frozenset(), consumers=functions, account=account, region=region, **fields
        )

    # --- SQS: what the event source mapping delivers, and what it would delete ------------

    def delivered(self, message_ids: Iterable[str]) -> None:
        """A batch of these messages was delivered to a consumer: draw it."""
        ids = set(message_ids)
        if not ids:
            return
        hit = self.draw.hits(self.parameters.delivery_percentage)
        with self.lock:
            self.seen += len(ids)
            if hit:
                self.owed |= ids - self.duplicated

    def redeliver(self, deleting: Iterable[str]) -> set[str]:
        """Of the messages the mapping is about to delete (processed), those to deliver again
        instead; counted as injected."""
        with self.lock:
            again = self.owed.intersection(deleting)
            self.owed -= again
            self.duplicated |= again
            self.injected += len(again)
        return again

    # --- EventBridge: one event for one rule target ----------------------------------------

    def covers(self, account: str, region: str) -> bool:
        return (self.account, self.region) == (account, region)

    def duplicates_event(self) -> bool:
        """One event for one rule target: whether it is delivered twice (counted)."""
        hit = self.draw.hits(self.parameters.delivery_percentage)
        with self.lock:
            self.seen += 1
            self.injected += hit
        return hit


def active_action(**fields: Any) -> faults.ActiveAction:
    """What the provider puts on the board for one action of a starting experiment:
    a ``DuplicateDelivery`` for the duplicate-delivery actions, else an ``ActiveAction``
    (``account``/``region`` are only kept by the former)."""
    if fields["action_id"] in ACTIONS:
        return DuplicateDelivery.of(**fields)
    fields.pop("account", None)
    fields.pop("region", None)
    return faults.ActiveAction(**fields)


def reason(action_id: str, injected: int, seen: int) -> str:
    return f"Duplicates injected: {injected} of {seen} {ACTIONS[action_id]} delivered."


def _running(action_id: str) -> list[DuplicateDelivery]:
    return [a for a in faults.BOARD.running(action_id) if isinstance(a, DuplicateDelivery)]


def unqualified(function_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>``, without a version or alias."""
    return ":".join(function_arn.split(":")[:7])


# --- SQS event source mappings ------------------------------------------------------------


class _Handling(threading.local):
    """The batch a poller thread is handling, when a running action targets its consumer."""

    poller: Any = None
    actions: tuple[DuplicateDelivery, ...] = ()


_HANDLING = _Handling()


def _consumer(poller: Any) -> str | None:
    target = getattr(getattr(poller.processor, "sender", None), "target_arn", None)
    return unqualified(target) if isinstance(target, str) else None


def _make_visible(poller: Any, messages: list[dict[str, Any]], again: set[str]) -> None:
    """The messages ``again`` visible at once, to be received (and delivered) again."""
    entries = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
        for index, message in enumerate(messages)
        if message["MessageId"] in again
    ]
    for start in range(0, len(entries), VISIBILITY_BATCH):
        try:
            answer = poller.source_client.change_message_visibility_batch(
                QueueUrl=poller.queue_url, Entries=entries[start : start + VISIBILITY_BATCH]
            )
        except Exception as error:  # the message stays in flight: redelivered after its timeout
            LOG.warning("duplicate delivery on %s: %s", poller.source_arn, error)
            continue
        for failed in answer.get("Failed") or []:
            LOG.warning("duplicate delivery on %s: %s", poller.source_arn, failed)
    LOG.info(
        "duplicate delivery: %d message(s) of %s visible again", len(entries), poller.source_arn
    )


def duplicate_sqs_deliveries() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_event_processor import (
        EsmEventProcessor,
    )
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    handle_messages = SqsPoller.handle_messages
    delete_messages = SqsPoller.delete_messages
    process_events_batch = EsmEventProcessor.process_events_batch

    def handling(self: Any, messages: Any) -> Any:
        consumer = _consumer(self)
        actions = tuple(a for a in _running(SQS_ACTION) if consumer in a.consumers)
        if not actions:
            return handle_messages(self, messages)
        _HANDLING.poller, _HANDLING.actions = self, actions
        try:
            return handle_messages(self, messages)
        finally:
            _HANDLING.poller, _HANDLING.actions = None, ()

    def processing(self: Any, input_events: Any) -> Any:
        poller = _HANDLING.poller
        if poller is not None and poller.processor is self:
            events = input_events if isinstance(input_events, list) else [input_events]
            ids = [e["messageId"] for e in events if isinstance(e, dict) and "messageId" in e]
            for action in _HANDLING.actions:
                action.delivered(ids)
        return process_events_batch(self, input_events)

    def deleting(self: Any, messages: Any, message_ids_to_delete: Any) -> Any:
        if _HANDLING.poller is not self or not message_ids_to_delete:
            return delete_messages(self, messages, message_ids_to_delete)
        again: set[str] = set()
        for action in _HANDLING.actions:
            again |= action.redeliver(set(message_ids_to_delete) - again)
        delete_messages(self, messages, set(message_ids_to_delete) - again)
        if again:
            _make_visible(self, messages, again)
        return None

    SqsPoller.handle_messages = handling
    SqsPoller.delete_messages = deleting
    EsmEventProcessor.process_events_batch = processing


def _deletes_what_was_processed() -> str | None:
    """The poller deletes what the processor handled through ``self.delete_messages``."""
    import inspect

    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    source = inspect.getsource(SqsPoller.handle_messages)
    for call in ("self.processor.process_events_batch(", "self.delete_messages("):
        if call not in source:
            return f"SqsPoller.handle_messages no longer calls {call.rstrip('(')}"
    return None


# --- EventBridge rule targets ----------------------------------------------------------------

RETRY_PATCH_MODULE = "orderflow_hostexec.event_delivery"


def duplicate_rule_deliveries() -> None:
    from localstack.services.events.target import TargetSender

    delivering: Callable[[Any, Any, Any], None] = TargetSender.process_event
    if getattr(delivering, "__module__", None) != RETRY_PATCH_MODULE:
        raise RuntimeError(
            "TargetSender.process_event is not the kit's retry and DLQ wrapper "
            "(events.target-retry-and-dlq must be applied first: registry.py)"
        )

    def process_event(self: Any, event: Any, trace_header: Any) -> None:
        actions = [a for a in _running(EVENTS_ACTION) if a.covers(self.account_id, self.region)]
        if not actions:
            return delivering(self, event, trace_header)
        copies = sum(action.duplicates_event() for action in actions)
        duplicate = copy.deepcopy(event)
        try:
            delivering(self, event, trace_header)  # failures retried/dead-lettered by the kit
        finally:
            for _ in range(copies):
                try:
                    delivering(self, copy.deepcopy(duplicate), trace_header)
                except Exception as error:  # retried on its own, per the target's RetryPolicy
                    LOG.info(
                        "duplicate of event %s to %s failed: %s",
                        duplicate.get("id") if isinstance(duplicate, dict) else None,
                        self.target.get("Arn"),
                        error,
                    )
        return None

    TargetSender.process_event = process_event


_ESM = "localstack.services.lambda_.event_source_mapping"

PATCHES = (
    Patch(
        name="fis.sqs-duplicate-delivery",
        kind="kit",
        purpose=(
            f"FIS {SQS_ACTION}: a drawn batch's messages are made visible again instead of "
            "deleted, so the event source mapping delivers them once more"
        ),
        targets=(
            Target(
                f"{_ESM}.pollers.sqs_poller",
                "SqsPoller.handle_messages",
                parameters=("self", "messages"),
            ),
            Target(
                f"{_ESM}.pollers.sqs_poller",
                "SqsPoller.delete_messages",
                parameters=("self", "messages", "message_ids_to_delete"),
            ),
            Target(
                f"{_ESM}.esm_event_processor",
                "EsmEventProcessor.process_events_batch",
                parameters=("self", "input_events"),
            ),
        ),
        apply=duplicate_sqs_deliveries,
        check=_deletes_what_was_processed,
    ),
    Patch(
        name="fis.events-duplicate-delivery",
        kind="kit",
        purpose=(
            f"FIS {EVENTS_ACTION}: a drawn event is delivered to its rule target twice, each "
            "copy with the target's retry policy and DLQ"
        ),
        targets=(
            Target(
                "localstack.services.events.target",
                "TargetSender.process_event",
                parameters=("self", "event", "trace_header"),
            ),
        ),
        apply=duplicate_rule_deliveries,
    ),
)
