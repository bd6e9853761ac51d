"""How the emulator's SQS event-source mappings batch: how many batches of one mapping run at
once, and what a batching window gathers.

AWS runs up to ``ScalingConfig.MaximumConcurrency`` (2-1000) batches of a mapping concurrently.
LocalStack 2026.3 accepts the setting and does not read it; from its source, each mapping has
one poller thread (``EsmWorker.poller_loop``) that receives a batch, invokes the function
synchronously (``SqsPoller.handle_messages``) and only then polls again, so it never runs more
than one batch of a mapping at a time, and every ``MaximumConcurrency`` (at least 2) holds.
This test pins that: a LocalStack that polls a mapping concurrently fails it, and the kit then
has to enforce ``MaximumConcurrency`` (docs/resilience/emulator-kit.md)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.clients import client
from tests.integration.support import eventually

MESSAGES = 8
WORK_S = 0.4


@pytest.fixture
def queues(emulator: None) -> Iterator[dict[str, str]]:
    sqs = client("sqs")
    name = f"it-esm-{uuid.uuid4().hex[:10]}"
    work = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    results = sqs.create_queue(QueueName=f"{name}-results")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    try:
        yield {"work": work, "arn": arn, "results": results}
    finally:
        sqs.delete_queue(QueueUrl=work)
        sqs.delete_queue(QueueUrl=results)


def max_overlap(spans: list[dict[str, float]]) -> int:
    """The most spans running at one instant."""
    edges = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = most = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return most


@pytest.fixture
def record_span_mapping(
    lambda_client: Any, make_function: Callable[..., str], queues: dict[str, str]
) -> Iterator[Callable[..., str]]:
    """Maps the work queue to a new ``probe.record_span`` function with the given settings,
    waiting until the mapping is Enabled (its UUID); deleted after the test."""
    created: list[str] = []

    def make(**settings: Any) -> str:
        function = make_function("probe.record_span", timeout=10)
        mapping = str(
            lambda_client.create_event_source_mapping(
                EventSourceArn=queues["arn"], FunctionName=function, **settings
            )["UUID"]
        )
        created.append(mapping)
        eventually(
            lambda: (
                lambda_client.get_event_source_mapping(UUID=mapping)["State"] == "Enabled" or None
            ),
            timeout_s=30,
        )
        return mapping

    yield make
    for mapping in created:
        lambda_client.delete_event_source_mapping(UUID=mapping)


def reported_spans(sqs: Any, results: str, expected: int) -> Callable[[], list[dict] | None]:
    """A probe for ``eventually``: the spans ``record_span`` reported to ``results`` (its
    process, start, end and batch size), once their batches add up to ``expected`` messages."""
    spans: list[dict] = []

    def probe() -> list[dict] | None:
        for message in sqs.receive_message(
            QueueUrl=results, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            spans.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=results, ReceiptHandle=message["ReceiptHandle"])
        return spans if sum(int(span["batch"]) for span in spans) >= expected else None

    return probe


def test_one_sqs_mapping_runs_one_batch_at_a_time(
    lambda_client: Any, record_span_mapping: Callable[..., str], queues: dict[str, str]
) -> None:
    # Given a mapping with MaximumConcurrency 2 and a batch size of 1, to a function that works
    # 0.4 s per batch
    mapping = record_span_mapping(BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    assert lambda_client.get_event_source_mapping(UUID=mapping)["ScalingConfig"] == {
        "MaximumConcurrency": 2
    }

    # When 8 messages arrive at once
    sqs = client("sqs")
    started = time.monotonic()
    body = json.dumps({"results": queues["results"], "sleep": WORK_S})
    sqs.send_message_batch(
        QueueUrl=queues["work"],
        Entries=[{"Id": str(i), "MessageBody": body} for i in range(MESSAGES)],
    )
    spans = eventually(reported_spans(sqs, queues["results"], MESSAGES), timeout_s=60)
    took = time.monotonic() - started

    # Then the batches ran one after another: never two at once, one environment reused
    overlap = max_overlap(spans)
    print(
        f"\n{len(spans)} batches of {MESSAGES} messages in {took:.1f} s; at most {overlap} "
        f"at once; {len({s['pid'] for s in spans})} environment(s)"
    )
    assert overlap == 1
    assert took >= len(spans) * WORK_S


def test_a_batching_window_gathers_messages_into_one_batch_and_a_full_batch_goes_at_once(
    record_span_mapping: Callable[..., str], queues: dict[str, str]
) -> None:
    # Given a mapping of batch size 10 that may gather messages for up to 20 s
    record_span_mapping(BatchSize=10, MaximumBatchingWindowInSeconds=20)
    sqs = client("sqs")
    body = json.dumps({"results": queues["results"]})

    # When 3 messages arrive one after another
    for _ in range(3):
        sqs.send_message(QueueUrl=queues["work"], MessageBody=body)

    # Then they are one invocation, after the window (Lambda gathers for up to 20 s; the
    # emulator used to invoke at the first message)
    spans = eventually(reported_spans(sqs, queues["results"], 3), timeout_s=60)
    assert [span["batch"] for span in spans] == [3]

    # And when 10 arrive at once, a full batch, they go without waiting for the window
    started = time.monotonic()
    sqs.send_message_batch(
        QueueUrl=queues["work"],
        Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)],
    )
    spans = eventually(reported_spans(sqs, queues["results"], 10), timeout_s=60)
    took = time.monotonic() - started
    assert [span["batch"] for span in spans] == [10]
    assert took < 15, f"a full batch waited {took:.1f} s, as if for the 20 s window"
