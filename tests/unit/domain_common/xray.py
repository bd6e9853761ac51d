"""The X-Ray SDK as it runs in a Lambda function, sending to a daemon this test can read.

In Lambda, the SDK's context is ``LambdaContext``: the invocation's segment is a facade built
from ``_X_AMZN_TRACE_ID``, and every closed subsegment is streamed (Powertools sets the
streaming threshold to 0) to the daemon on ``AWS_XRAY_DAEMON_ADDRESS`` as one UDP datagram
(``{"format": "json", "version": 1}\\n<document>``). The ``xray`` fixture sets up exactly that,
with a UDP socket of the test as the daemon, and turns the service's Powertools Tracer on
(unit tests otherwise run with ``POWERTOOLS_TRACE_DISABLED``); everything is put back after.
"""

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.lambda_launcher import LambdaContext

from shared_kernel import aws, observability

INVOCATION_ROOT = "1-6790a1b2-00000000000000000000abcd"
"""The trace the Lambda invocation itself belongs to (the stream's, the queue's...)."""
INVOCATION_HEADER = f"Root={INVOCATION_ROOT};Parent=aaaaaaaaaaaaaaaa;Sampled=1"
FUNCTION_NAME = "orderflow-dev-Function"
DAEMON_HEADER = {"format": "json", "version": 1}


class LocalDaemon:
    """A UDP socket standing for the X-Ray daemon: the documents the SDK sent to it."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.setblocking(False)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._received: list[dict[str, Any]] = []

    def documents(self) -> list[dict[str, Any]]:
        """Every document received so far. The SDK sends synchronously (``sendto`` before the
        traced call returns), so what was sent is in the socket's buffer: no waiting."""
        while True:
            try:
                datagram = self._socket.recv(65_536)
            except BlockingIOError:
                return list(self._received)
            header, _, body = datagram.decode().partition("\n")
            assert json.loads(header) == DAEMON_HEADER
            self._received.append(json.loads(body))

    def segments(self, trace_id: str | None = None) -> list[dict[str, Any]]:
        """The segments (not the streamed subsegments), of ``trace_id`` if given."""
        return [
            doc
            for doc in self.documents()
            if doc.get("type") != "subsegment" and trace_id in (None, doc["trace_id"])
        ]

    def entities(self) -> Iterator[dict[str, Any]]:
        """Every segment and subsegment received, nested ones included."""
        stack = self.documents()
        while stack:
            entity = stack.pop()
            yield entity
            stack.extend(entity.get("subsegments", []))

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def xray(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDaemon]:
    """The SDK in Lambda mode, in the invocation trace ``INVOCATION_HEADER``, sending to a
    ``LocalDaemon``; the function is named ``FUNCTION_NAME``."""
    daemon = LocalDaemon()
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", INVOCATION_HEADER)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setattr(observability.tracer, "disabled", False)
    context, emitter = xray_recorder.context, xray_recorder.emitter
    threshold, enabled = xray_recorder.streaming_threshold, global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    xray_recorder.context = LambdaContext()
    xray_recorder.emitter = UDPEmitter(daemon.address)
    xray_recorder.streaming_threshold = 0
    try:
        yield daemon
    finally:
        global_sdk_config.set_sdk_enabled(enabled)
        xray_recorder.context, xray_recorder.emitter = context, emitter
        xray_recorder.streaming_threshold = threshold
        daemon.close()


@contextmanager
def put_events_entries() -> Iterator[list[dict[str, Any]]]:
    """The PutEvents entries the code sends (on the shared client) inside the block, as
    botocore is about to send them."""
    entries: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        entries.extend(params["Entries"])

    events = aws.eventbridge().meta.events
    events.register("provide-client-params.events.PutEvents", record)
    try:
        yield entries
    finally:
        events.unregister("provide-client-params.events.PutEvents", record)
