"""How many stream records LocalStack's event-source mappings read per poll.

LocalStack's stream poller (DynamoDB, Kinesis) asks ``GetRecords`` for ``BatchSize`` records,
filters them, invokes the function with the matches, sleeps the poll interval and polls
again. AWS reads as many records as a ``GetRecords`` returns (up to 1000 from DynamoDB
Streams, 10,000 from Kinesis) and filters before batching. On a table whose stream carries
more than the filter lets through, that made the outbox relay read ten records per poll
cycle, and the stream, not the emulator's CPU, limited the order benchmark: orders waited
17 s between their POST and the start of their saga, with the machine 55% idle.

This hook reads up to ``RECORDS_PER_POLL`` records per ``GetRecords`` (DynamoDB Local's
maximum). LocalStack still hands them to the function in batches of at most ``BatchSize``,
each filtered, in order, with its retry, bisection and on-failure handling unchanged. A
performance hook (the function sees the same records); declared in ``PATCHES`` and applied
by ``startup.py`` after every patch's targets have been checked (``patches.py``).

**Idle pollers** (``wakes.py``). LocalStack's event-source mappings poll on a timer: every
50-200 ms here (``ctl.py``'s poll settings, for latency), ~60 internal requests a second for
the app's eight SQS mappings and its stream: ~0.3 of a core for an emulator doing nothing.

- ``event_sources.sqs-wait-for-messages``: an SQS mapping without a batching window waits,
  before its ``ReceiveMessage``, on the queue's own condition until a message is visible (at
  most ``SQS_WAIT_S``, then it polls once anyway), as AWS's pollers long-poll. A message is
  received as soon as it is sent, not at the next tick.
- ``event_sources.stream-wait-for-writes``: a stream mapping whose last read of every shard
  found nothing waits until something may have written to a table (a Lambda invocation ended:
  the functions write straight to DynamoDB Local; a write went through LocalStack's DynamoDB
  provider: Step Functions, the host's clients) or ``STREAM_IDLE_S`` passed, then reads. On
  AWS a stream poller reads each shard about four times a second; the records a write makes
  are read right after the invocation that made it.

Both look at their mapping's stop event at least every second (a disabled mapping stops as
before). Measured with ``bench.idle`` (docs/performance/emulator.md): an idle emulator with the
app deployed, 0.35 of a core before, see the table after.

**Batching windows** (``event_sources.sqs-batching-window``, a behaviour fix). Lambda gathers
an SQS mapping's messages for up to ``MaximumBatchingWindowInSeconds`` before it invokes,
unless it has ``BatchSize`` messages first. LocalStack asks for that only for windows over
20 s; for a shorter one its ``ReceiveMessage`` long-polls ``WaitTimeSeconds`` = the window and
returns with the first message, so every message was its own invocation, window or not. The
kit's poller waits (as above) for a first visible message on a standard queue, then until
``BatchSize`` are visible or the window has passed, then receives. FIFO queues and windows
over 20 s are left to LocalStack.
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.patches import Patch, Target
from orderflow_hostexec.wakes import STREAM_WRITES, wait_until_ready

RECORDS_PER_POLL = 1000
SQS_WAIT_S = 20.0  # AWS's longest long poll; polled once anyway after it
# LocalStack's SQS poller gathers a batch itself only for a window longer than this
LOCALSTACK_GATHERS_OVER_S = 20
STREAM_IDLE_S = 1.0  # an idle stream is still read this often (writes the kit does not see)
# DynamoDB operations that may add stream records, when they go through LocalStack's provider
WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)


def read_more_stream_records_per_poll() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import (
        StreamPoller,
    )

    original = StreamPoller.get_records

    def get_records(self: Any, shard_iterator: str) -> dict[str, Any]:
        # LocalStack's own method, error handling included, with a client that reads more
        response: dict[str, Any] = original(_ReadingMore(self), shard_iterator)
        # how many reads in a row found nothing (stream-wait-for-writes)
        empty = 0 if response.get("Records") else getattr(self, "_orderflow_empty_reads", 0) + 1
        self._orderflow_empty_reads = empty
        return response

    StreamPoller.get_records = get_records


class _ReadingMore:
    """The poller, as seen by its ``get_records``: its source client asks for more records."""

    def __init__(self, poller: Any) -> None:
        object.__setattr__(self, "_poller", poller)

    def __getattr__(self, name: str) -> Any:
        if name == "source_client":
            return _MoreRecords(self._poller.source_client)
        return getattr(self._poller, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._poller, name, value)  # e.g. ``self.shards = ...`` on expired iterators


class _MoreRecords:
    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)  # ``exceptions`` and everything else

    def get_records(self, **kwargs: Any) -> Any:
        kwargs["Limit"] = max(RECORDS_PER_POLL, kwargs.get("Limit") or 0)
        return self._client.get_records(**kwargs)


def remember_stop_event() -> None:
    """Each poller gets its mapping's stop event (``_orderflow_stop``), for the waits below."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    original = EsmWorker.poller_loop

    def poller_loop(self: Any, *args: Any, **kwargs: Any) -> None:
        self.poller._orderflow_stop = self._shutdown_event
        original(self, *args, **kwargs)

    EsmWorker.poller_loop = poller_loop


def _sqs_queue(source_arn: str) -> Any:
    """LocalStack's queue of an SQS ARN, or None."""
    from localstack.services.sqs.models import sqs_stores

    parts = source_arn.split(":")
    if len(parts) != 6:
        return None
    account, region, name = parts[4], parts[3], parts[5]
    return sqs_stores[account][region].queues.get(name)


def sqs_waitable(source_arn: str) -> Any:
    """The queue (LocalStack's ``InterruptibleQueue``) a ``ReceiveMessage`` waits on, or None."""
    queue = _sqs_queue(source_arn)
    for attribute in ("visible", "message_group_queue"):  # standard, FIFO
        waitable = getattr(queue, attribute, None)
        if waitable is not None:
            return waitable
    return None


def sqs_visible_messages(source_arn: str) -> Any:
    """A standard queue's visible messages (an ``InterruptibleQueue``: its size is their
    number), or None (a FIFO queue's waitable holds message groups, not messages)."""
    return getattr(_sqs_queue(source_arn), "visible", None)


def sqs_wait_for_messages() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original = SqsPoller.poll_events

    def poll_events(self: Any) -> None:
        if not self.maximum_batching_window:  # a window: sqs_batching_window's
            waitable = sqs_waitable(self.source_arn)
            stop = getattr(self, "_orderflow_stop", None)
            if waitable is not None:
                wait_until_ready(waitable, SQS_WAIT_S, stop)  # then a receive, as LocalStack's
                if stop is not None and stop.is_set():
                    return
        original(self)

    SqsPoller.poll_events = poll_events


def sqs_batching_window() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original = SqsPoller.poll_events

    def poll_events(self: Any) -> None:
        window = self.maximum_batching_window
        waitable = sqs_visible_messages(self.source_arn) if window else None
        if waitable is not None and window <= LOCALSTACK_GATHERS_OVER_S:
            stop = getattr(self, "_orderflow_stop", None)
            # A first message (the wait looks again every second: nothing visible is missed
            # for longer; an idle wait ends with no receive, the poller loop comes back)...
            if not wait_until_ready(waitable, SQS_WAIT_S, stop):
                return
            # ...then the rest of a batch, until the window has passed
            wait_until_ready(waitable, window, stop, at_least=self.batch_size)
            if stop is not None and stop.is_set():
                return
        original(self)

    SqsPoller.poll_events = poll_events


def stream_wait_for_writes() -> None:
    from localstack.services.dynamodb.v2.provider import DynamoDBProvider
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import (
        StreamPoller,
    )

    original_poll = StreamPoller.poll_events

    def poll_events(self: Any) -> None:
        shards = len(getattr(self, "shards", None) or ()) or 1
        if getattr(self, "_orderflow_empty_reads", 0) >= shards:  # every shard read empty
            stop = getattr(self, "_orderflow_stop", None)
            seen = getattr(self, "_orderflow_seen", STREAM_WRITES.generation)
            STREAM_WRITES.wait_for(seen, STREAM_IDLE_S, stop)
            if stop is not None and stop.is_set():
                return
            self._orderflow_empty_reads = 0  # read every shard once more
        self._orderflow_seen = STREAM_WRITES.generation  # a write from now on wakes it again
        original_poll(self)

    StreamPoller.poll_events = poll_events

    original_forward = DynamoDBProvider.forward_request

    def forward_request(self: Any, context: Any, service_request: Any = None) -> Any:
        try:
            return original_forward(self, context, service_request)
        finally:
            if context.operation is not None and context.operation.name in WRITES:
                STREAM_WRITES.wake()

    DynamoDBProvider.forward_request = forward_request


def _waits_on_its_queue() -> str | None:
    """What ``sqs_waitable`` reads of LocalStack's SQS and the ESM worker still exists."""
    import inspect

    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.sqs.models import FifoQueue, SqsStore, StandardQueue
    from localstack.services.sqs.queue import InterruptibleQueue

    probe = InterruptibleQueue[int]()
    if not hasattr(probe, "_qsize") or probe.not_empty._lock is not probe.mutex:
        return "InterruptibleQueue no longer waits on its mutex's condition with _qsize"
    if "queues" not in SqsStore.__annotations__:
        return "SqsStore has no queues any more"
    for queue_type, attribute in ((StandardQueue, "visible"), (FifoQueue, "message_group_queue")):
        if attribute not in inspect.getsource(queue_type.__init__):
            return f"{queue_type.__name__} no longer keeps its messages in {attribute}"
    loop = inspect.getsource(EsmWorker.poller_loop)
    if "self.poller.poll_events()" not in loop or "self._shutdown_event" not in loop:
        return "EsmWorker.poller_loop no longer polls self.poller until self._shutdown_event"
    return None


def _reads_through_its_source_client() -> str | None:
    """The hook swaps the poller's ``source_client`` for one that asks for more records."""
    import inspect

    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import (
        StreamPoller,
    )

    if "self.source_client.get_records(" not in inspect.getsource(StreamPoller.get_records):
        return "StreamPoller.get_records no longer calls self.source_client.get_records"
    return None


def _gathers_only_over_20_s() -> str | None:
    """LocalStack's poller still asks SQS to gather a batch only for windows over 20 s."""
    from localstack.services.lambda_.event_source_mapping.pollers import sqs_poller

    if getattr(sqs_poller, "DEFAULT_MAX_WAIT_TIME_SECONDS", None) != LOCALSTACK_GATHERS_OVER_S:
        return f"SqsPoller no longer overrides the wait only over {LOCALSTACK_GATHERS_OVER_S} s"
    return None


_POLLER = "localstack.services.lambda_.event_source_mapping.pollers.stream_poller"
_ESM = "localstack.services.lambda_.event_source_mapping"

PATCHES = (
    Patch(
        name="event_sources.stream-records-per-poll",
        kind="performance",
        purpose=f"stream pollers read up to {RECORDS_PER_POLL} records per GetRecords",
        targets=(
            Target(_POLLER, "StreamPoller", shape="class"),
            Target(_POLLER, "StreamPoller.get_records", parameters=("self", "shard_iterator")),
        ),
        apply=read_more_stream_records_per_poll,
        check=_reads_through_its_source_client,
    ),
    Patch(
        name="event_sources.poller-stop-event",
        kind="performance",
        purpose="each event-source poller knows its mapping's stop event (for the waits below)",
        targets=(
            Target(f"{_ESM}.esm_worker", "EsmWorker", shape="class"),
            Target(
                f"{_ESM}.esm_worker",
                "EsmWorker.poller_loop",
                parameters=("self", "args", "kwargs"),
            ),
        ),
        apply=remember_stop_event,
        check=_waits_on_its_queue,
    ),
    Patch(
        name="event_sources.sqs-wait-for-messages",
        kind="performance",
        purpose=(
            "an SQS mapping waits on its queue until a message is visible (at most "
            f"{SQS_WAIT_S:.0f} s) instead of polling every 50-200 ms"
        ),
        targets=(
            Target(f"{_ESM}.pollers.sqs_poller", "SqsPoller.poll_events", parameters=("self",)),
            Target("localstack.services.sqs.models", "sqs_stores", shape="object"),
        ),
        apply=sqs_wait_for_messages,
    ),
    Patch(
        name="event_sources.stream-wait-for-writes",
        kind="performance",
        purpose=(
            "an idle stream mapping reads again when a Lambda invocation ends or a write goes "
            f"through the DynamoDB provider (at least every {STREAM_IDLE_S:.0f} s), not every 50 ms"
        ),
        targets=(
            Target(_POLLER, "StreamPoller.poll_events", parameters=("self",)),
            Target(
                "localstack.services.dynamodb.v2.provider",
                "DynamoDBProvider.forward_request",
                parameters=("self", "context", "service_request"),
            ),
        ),
        apply=stream_wait_for_writes,
    ),
)

# a behaviour fix (registry.BEHAVIOUR_FIXES), beside this module's performance hooks
BEHAVIOUR = (
    Patch(
        name="event_sources.sqs-batching-window",
        kind="behaviour",
        purpose=(
            "an SQS mapping with a batching window of up to "
            f"{LOCALSTACK_GATHERS_OVER_S} s gathers messages until it has BatchSize or the "
            "window has passed, as Lambda does (LocalStack invoked at the first message)"
        ),
        targets=(
            Target(f"{_ESM}.pollers.sqs_poller", "SqsPoller.poll_events", parameters=("self",)),
            Target("localstack.services.sqs.models", "sqs_stores", shape="object"),
        ),
        apply=sqs_batching_window,
        check=_gathers_only_over_20_s,
    ),
)
