"""The kit's X-Ray daemon and trace store (orderflow_hostexec/xray/store.py, daemon.py): the
daemon's wire format, validation, subsegments attached to their parent, and the bound."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from orderflow_hostexec.xray.daemon import Daemon
from orderflow_hostexec.xray.store import (
    MAX_DOCUMENT_BYTES,
    SegmentError,
    Trace,
    TraceStore,
    parse_datagram,
    parse_document,
)

TRACE = "1-6b0e7a0a-3e0e1bcc696cabec6f9fe8ea"
HEADER = b'{"format": "json", "version": 1}\n'
T0 = 1_796_110_858.0


def segment(entity_id: str = "a" * 16, trace: str = TRACE, **fields: Any) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "id": entity_id,
        "name": "svc",
        "start_time": T0,
        "end_time": T0 + 1,
        **fields,
    }


def alone(entity_id: str, parent: str, **fields: Any) -> dict[str, Any]:
    """A subsegment as the X-Ray SDK streams it in Lambda."""
    return {
        "type": "subsegment",
        "trace_id": TRACE,
        "parent_id": parent,
        "id": entity_id,
        "name": "## handler",
        "start_time": T0 + 0.1,
        "end_time": T0 + 0.2,
        **fields,
    }


def datagram(document: dict[str, Any]) -> bytes:
    return HEADER + json.dumps(document).encode()


def nested(trace: Trace) -> list[dict[str, Any]]:
    return trace.documents()


def test_a_datagram_is_the_json_header_line_then_the_document() -> None:
    assert parse_datagram(datagram(segment()))["id"] == "a" * 16
    # the SDKs write the header with or without spaces
    compact = b'{"format":"json","version":1}\n' + json.dumps(segment()).encode()
    assert parse_datagram(compact)["name"] == "svc"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (json.dumps(segment()).encode(), "no header line"),
        (b'{"format": "json", "version": 2}\n{}', "is not"),
        (b"not json\n{}", "header line is not JSON"),
        (HEADER + b"{broken", "document is not JSON"),
        (HEADER + b" " * MAX_DOCUMENT_BYTES, "over"),
    ],
)
def test_a_malformed_datagram_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SegmentError, match=reason):
        parse_datagram(data)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (segment(entity_id="XYZ"), "id must be 16 hexadecimal digits"),
        (segment(trace="1-abc"), "trace_id"),
        ({**segment(), "name": ""}, "name"),
        ({k: v for k, v in segment().items() if k != "end_time"}, "end_time is required"),
        (segment(end_time=T0 - 1), "before start_time"),
        (segment(start_time="yesterday"), "start_time must be a number"),
        ({k: v for k, v in alone("b" * 16, "a" * 16).items() if k != "parent_id"}, "parent_id"),
        (segment(subsegments=[{"id": "c" * 16, "name": "x"}]), "start_time is required"),
    ],
)
def test_an_invalid_document_is_refused_with_its_reason(
    document: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SegmentError, match=reason):
        parse_document(json.dumps(document))


def test_an_in_progress_segment_needs_no_end_time() -> None:
    document = {k: v for k, v in segment(in_progress=True).items() if k != "end_time"}
    assert parse_document(json.dumps(document))["in_progress"] is True


def test_subsegments_sent_alone_hang_under_their_parent_whatever_the_order() -> None:
    store = TraceStore(max_traces=10)
    # the SDK streams the handler's subsegments before Lambda's function segment is recorded
    store.put(alone("c" * 16, "b" * 16, name="dynamodb"))
    store.put(alone("b" * 16, "a" * 16))
    store.put(segment())
    trace = store.get(TRACE)
    assert trace is not None
    [document] = nested(trace)
    [handler] = document["subsegments"]
    assert handler["name"] == "## handler"
    assert [s["name"] for s in handler["subsegments"]] == ["dynamodb"]
    # nested, a subsegment carries no trace_id/parent_id/type (its place says it), as on AWS
    assert "parent_id" not in handler and "type" not in handler


def test_nested_subsegments_of_a_segment_document_are_kept_in_start_order() -> None:
    store = TraceStore(max_traces=10)
    late = {"id": "c" * 16, "name": "late", "start_time": T0 + 0.5, "end_time": T0 + 0.6}
    early = {"id": "d" * 16, "name": "early", "start_time": T0 + 0.1, "end_time": T0 + 0.2}
    store.put(segment(subsegments=[late, early]))
    trace = store.get(TRACE)
    assert trace is not None
    assert [s["name"] for s in nested(trace)[0]["subsegments"]] == ["early", "late"]


def test_a_finished_document_replaces_its_in_progress_self() -> None:
    store = TraceStore(max_traces=10)
    started = {k: v for k, v in segment(in_progress=True).items() if k != "end_time"}
    store.put(started)
    store.put(alone("b" * 16, "a" * 16))
    store.put(segment(end_time=T0 + 3))
    trace = store.get(TRACE)
    assert trace is not None
    [document] = nested(trace)
    assert document["end_time"] == T0 + 3 and "in_progress" not in document
    assert [s["id"] for s in document["subsegments"]] == ["b" * 16]  # kept


def test_a_subsegment_whose_parent_never_came_is_still_returned_marked_as_such() -> None:
    store = TraceStore(max_traces=10)
    store.put(alone("b" * 16, "f" * 16))
    trace = store.get(TRACE)
    assert trace is not None
    [orphan] = nested(trace)
    assert orphan["type"] == "subsegment" and orphan["parent_id"] == "f" * 16


def test_the_oldest_traces_are_evicted_beyond_the_cap() -> None:
    store = TraceStore(max_traces=2)
    ids = [f"1-6b0e7a0a-{n:024x}" for n in range(3)]
    for trace_id in ids:
        store.put(segment(trace=trace_id))
    store.put(segment(entity_id="b" * 16, trace=ids[1]))  # a later document keeps no trace young
    assert store.get(ids[0]) is None
    assert store.get(ids[1]) is not None and store.get(ids[2]) is not None
    assert store.stats()["evicted"] == 1
    assert [t.id for t in store.traces()] == ids[1:]


def test_a_trace_holds_a_bounded_number_of_entities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("orderflow_hostexec.xray.store.MAX_ENTITIES", 2)
    store = TraceStore(max_traces=10)
    store.put(segment())
    store.put(alone("b" * 16, "a" * 16))
    with pytest.raises(SegmentError, match="holds 2 entities"):
        store.put(alone("c" * 16, "a" * 16))


def test_the_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_XRAY_MAX_TRACES", "7")
    assert TraceStore().max_traces == 7


def test_the_daemon_stores_what_arrives_over_udp_and_counts_what_it_refuses() -> None:
    store = TraceStore(max_traces=10)
    daemon = Daemon(store, port=0)
    host, port = daemon.start().split(":")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(datagram(segment()), (host, int(port)))
            sender.sendto(b"garbage", (host, int(port)))
        deadline = time.monotonic() + 5
        while store.stats()["received"] + store.stats()["rejected"] < 2:
            assert time.monotonic() < deadline, store.stats()
            time.sleep(0.01)
    finally:
        daemon.stop()
    assert store.get(TRACE) is not None
    assert store.stats()["rejected"] == 1
    assert "no header line" in store.stats()["lastError"]
