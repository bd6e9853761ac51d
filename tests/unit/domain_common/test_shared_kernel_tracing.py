"""Trace headers, spans in a record's trace, and the trace header of every published event:
what the X-Ray SDK really sends (to a local UDP daemon) and what really goes to EventBridge."""

import pytest

from shared_kernel import aws
from shared_kernel.cloudevents import new_event
from shared_kernel.observability import bind_correlation
from shared_kernel.publisher import EventPublisher
from shared_kernel.tracing import (
    MalformedTraceHeader,
    TraceHeader,
    current_trace_header,
    span_in,
)
from tests.unit.domain_common.fixtures import BUS_NAME, BusSpy
from tests.unit.domain_common.xray import (
    FUNCTION_NAME,
    INVOCATION_ROOT,
    LocalDaemon,
    put_events_entries,
)

ORDER_ROOT = "1-6790a1b3-0123456789abcdef01234567"
WRITER = "53995c3f42cd8ad8"
ORDER_HEADER = f"Root={ORDER_ROOT};Parent={WRITER};Sampled=1"


# -- headers -----------------------------------------------------------------------------


def test_a_header_is_parsed_and_formatted_back_as_it_came():
    header = TraceHeader.parse(f"Root={ORDER_ROOT};Parent={WRITER};Sampled=1;Lineage=a87bd80c:1")
    assert (header.root, header.parent, header.sampled) == (ORDER_ROOT, WRITER, "1")
    assert header.is_sampled
    assert str(header) == f"Root={ORDER_ROOT};Parent={WRITER};Sampled=1;Lineage=a87bd80c:1"


def test_a_header_without_parent_or_decision_leaves_them_to_the_next_hop():
    header = TraceHeader.parse(f"Root={ORDER_ROOT}")
    assert (header.parent, header.sampled, header.is_sampled) == (None, None, False)
    assert str(header) == f"Root={ORDER_ROOT}"
    assert not TraceHeader.parse(f"Root={ORDER_ROOT};Sampled=?").is_sampled


def test_a_load_balancers_self_field_is_not_passed_on():
    header = TraceHeader.parse(f"Self=1-67891234-12456789abcdef012345678;Root={ORDER_ROOT}")
    assert str(header) == f"Root={ORDER_ROOT}"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Parent=53995c3f42cd8ad8;Sampled=1", "Root None"),
        ("Root=1-xyz-0123;Sampled=1", "Root '1-xyz-0123'"),
        (f"Root={ORDER_ROOT};Parent=53995c3f", "Parent '53995c3f'"),
        (f"Root={ORDER_ROOT};Sampled=yes", "Sampled 'yes'"),
        (f"Root={ORDER_ROOT};Root={ORDER_ROOT}", "Root appears twice"),
        (f"Root={ORDER_ROOT};garbage", "'garbage' is not key=value"),
    ],
)
def test_a_malformed_header_is_refused_naming_what_is_wrong(header: str, problem: str):
    with pytest.raises(MalformedTraceHeader, match=problem):
        TraceHeader.parse(header)


def test_a_malformed_header_from_outside_is_dropped_not_a_failure(caplog):
    assert TraceHeader.parse_or_none("Root=nonsense") is None
    assert TraceHeader.parse_or_none(None) is None
    assert [r.getMessage() for r in caplog.records] == ["trace header ignored"]


# -- spans -------------------------------------------------------------------------------


def test_tracing_off_means_no_header_to_pass_on():
    # unit tests run with the SDK disabled, like a function with tracing off
    assert current_trace_header() is None


def test_the_current_header_names_the_current_subsegment(xray: LocalDaemon):
    from aws_xray_sdk.core import xray_recorder

    with xray_recorder.in_subsegment("## handler") as subsegment:
        assert current_trace_header() == f"Root={INVOCATION_ROOT};Parent={subsegment.id};Sampled=1"


def test_a_span_is_a_segment_of_the_records_trace_sent_to_the_daemon(xray: LocalDaemon):
    # When a block runs in a span of the order's trace, binding the order
    with span_in(ORDER_HEADER) as span:
        bind_correlation("corr-1", "order-1")
        inside = current_trace_header()
    # Then one segment of that trace reached the daemon, under the header's parent, named
    # after the function, annotated with the order and correlation ids
    [segment] = xray.segments(ORDER_ROOT)
    assert segment["parent_id"] == WRITER
    assert segment["name"] == FUNCTION_NAME
    assert segment["annotations"] == {"order_id": "order-1", "correlation_id": "corr-1"}
    assert segment["end_time"] >= segment["start_time"]
    # and what the block passed on names the span as its parent
    assert span.segment is not None and span.segment.id == segment["id"]
    assert inside == f"Root={ORDER_ROOT};Parent={segment['id']};Sampled=1"
    assert str(span.header) == inside
    # After the block the invocation's own trace is current again
    assert current_trace_header() == f"Root={INVOCATION_ROOT};Parent=aaaaaaaaaaaaaaaa;Sampled=1"


def test_subsegments_inside_a_span_belong_to_the_records_trace(xray: LocalDaemon):
    from aws_xray_sdk.core import xray_recorder

    with span_in(ORDER_HEADER) as span, xray_recorder.in_subsegment("PutEvents") as call:
        assert current_trace_header() == f"Root={ORDER_ROOT};Parent={call.id};Sampled=1"
    assert span.segment is not None
    streamed = [e for e in xray.entities() if e["name"] == "PutEvents"]
    assert [(e["trace_id"], e["parent_id"]) for e in streamed] == [(ORDER_ROOT, span.segment.id)]


def test_an_unsampled_header_gets_no_span_and_is_passed_on_as_it_came(xray: LocalDaemon):
    unsampled = f"Root={ORDER_ROOT};Parent={WRITER};Sampled=0"
    with span_in(unsampled) as span:
        bind_correlation("corr-1", "order-1")
        assert current_trace_header() == unsampled
    assert span.segment is None
    assert xray.segments(ORDER_ROOT) == []


def test_without_tracing_a_records_header_is_still_passed_on():
    with span_in(ORDER_HEADER) as span:
        assert current_trace_header() == ORDER_HEADER
    assert span.segment is None


def test_a_block_that_raises_leaves_a_faulty_span_and_the_error(xray: LocalDaemon):
    with pytest.raises(RuntimeError, match="boom"), span_in(ORDER_HEADER):
        raise RuntimeError("boom")
    [segment] = xray.segments(ORDER_ROOT)
    assert segment["fault"] is True
    [exception] = segment["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("RuntimeError", "boom")
    assert str(current_trace_header()).startswith(f"Root={INVOCATION_ROOT};")


# -- publishing --------------------------------------------------------------------------


def events(count: int) -> list:
    return [
        new_event("OrderPlaced", "orderflow.orders", f"order-{n}", {"n": n}, "corr")
        for n in range(count)
    ]


def test_every_entry_carries_the_trace_of_the_span_it_is_published_from(
    bus: BusSpy, xray: LocalDaemon
):
    with put_events_entries() as entries, span_in(ORDER_HEADER) as span:
        EventPublisher(aws.eventbridge(), BUS_NAME).publish(events(12))
    assert span.segment is not None
    assert len(entries) == 12
    expected = f"Root={ORDER_ROOT};Parent={span.segment.id};Sampled=1"
    assert {entry["TraceHeader"] for entry in entries} == {expected}
    assert len(bus.delivered()) == 12


def test_without_a_trace_entries_carry_no_header(bus: BusSpy):
    with put_events_entries() as entries:
        EventPublisher(aws.eventbridge(), BUS_NAME).publish(events(1))
    assert [entry.get("TraceHeader") for entry in entries] == [None]
