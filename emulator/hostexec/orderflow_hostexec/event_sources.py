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
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.patches import Patch, Target

RECORDS_PER_POLL = 1000


def read_more_stream_records_per_poll() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import (
        StreamPoller,
    )

    original = StreamPoller.get_records

    def get_records(self: Any, shard_iterator: str) -> dict[str, Any]:
        # LocalStack's own method, error handling included, with a client that reads more
        return original(_ReadingMore(self), shard_iterator)

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


def _reads_through_its_source_client() -> str | None:
    """The hook swaps the poller's ``source_client`` for one that asks for more records."""
    import inspect

    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import (
        StreamPoller,
    )

    if "self.source_client.get_records(" not in inspect.getsource(StreamPoller.get_records):
        return "StreamPoller.get_records no longer calls self.source_client.get_records"
    return None


_POLLER = "localstack.services.lambda_.event_source_mapping.pollers.stream_poller"

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
)
