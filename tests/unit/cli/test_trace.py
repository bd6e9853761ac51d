"""``orderflow trace`` on moto's X-Ray: a whole order's trace put as the documents AWS and the
app send (tests/unit/cli/trace_fixture.py), found by the order's annotation and shown as a
waterfall, JSON and OTLP.

moto's GetTraceSummaries answers a filter expression with "not implemented" (500
InternalFailure), so on moto the command takes its fallback (every trace of the window, kept by
the ``order_id`` annotation of their spans); the filter expression it sends to a real X-Ray is
checked where it is built (``summaries_queries``).
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from typer.testing import CliRunner

from orderflow_cli.main import app
from orderflow_cli.spans import build_trace
from orderflow_cli.trace import (
    TERMINAL_CAUSE_CHARS,
    order_filter,
    parse_since,
    slices,
    summaries_queries,
    terminal_cause,
)
from tests.unit.cli.trace_fixture import (
    CORRELATION_ID,
    FUNCTION_TAGS,
    ORDER_ID,
    STACK,
    Fixture,
    order_trace,
    stack_template,
)
from tests.unit.domain_common.fixtures import REGION

WIDE = {"COLUMNS": "260"}

# The waterfall: parents before children, children of one parent by start time.
TREE = [
    "api", "api.invoke", "place.lambda", "place.function", "place.invocation", "place.handler",
    "place.get", "place.write",
    # the relay's segment hangs under the write that stored the outbox record
    "relay", "relay.put1", "relay.put2",
    # put2's children by start: the saga (0.8 s) and its subtree, then the projector (0.9 s)
    "saga",
    "reserve", "reserve.invoke", "reserve-fn.lambda", "reserve-fn.function",
    "reserve-fn.invocation", "reserve-fn.handler", "reserve.update", "reserve-fn.overhead",
    "authorize", "authorize.invoke1", "authorize-1.lambda", "authorize-1.function",
    "authorize-1.invocation", "authorize-1.handler", "authorize-1.overhead",
    "authorize.invoke2", "authorize-2.lambda", "authorize-2.function",
    "authorize-2.invocation", "authorize-2.handler", "authorize-2.overhead",
    "schedule", "schedule.send", "ship.lambda", "ship.function", "ship.invocation",
    "ship.handler", "ship.done", "ship.overhead",
    "confirm", "confirm.invoke", "confirm-fn.lambda", "confirm-fn.function",
    "confirm-fn.invocation", "confirm-fn.handler", "confirm.update", "confirm-fn.overhead",
    "projector", "projector.write",
    "place.overhead",
]  # fmt: skip


def put(fixture: Fixture) -> None:
    answer = boto3.client("xray", region_name=REGION).put_trace_segments(
        TraceSegmentDocuments=fixture.json_documents()
    )
    assert answer["UnprocessedTraceSegments"] == []


@pytest.fixture
def order(mocked_aws: None) -> Fixture:
    """The order's trace, started two minutes ago, and another order's trace next to it."""
    fixture = order_trace(round(time.time() - 120, 3))
    put(fixture)
    put(order_trace(time.time() - 100, order_id="ord-other"))
    return fixture


def orderflow(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=WIDE)


def spans_json(*args: str) -> list[dict[str, Any]]:
    result = orderflow("trace", *args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    spans: list[dict[str, Any]] = json.loads(result.stdout)
    return spans


def keys_of(order: Fixture, spans: list[dict[str, Any]]) -> list[str]:
    names = {value: key for key, value in order.ids.items()}
    return [names[span["id"]] for span in spans]


def test_json_lists_every_span_of_the_order_in_tree_order_with_its_fields(order: Fixture) -> None:
    spans = spans_json(ORDER_ID)

    assert keys_of(order, spans) == TREE  # every span once, the other order's none
    assert {span["traceId"] for span in spans} == {order.trace_id}
    by_key = dict(zip(TREE, spans, strict=True))
    relay = by_key["relay"]
    assert relay["parentId"] == order.ids["place.write"]
    assert relay["name"] == relay["service"] == "Orderflow-OutboxRelay"
    assert relay["origin"] == "AWS::Lambda::Function"
    assert relay["annotations"]["order_id"] == ORDER_ID
    assert relay["start"] == pytest.approx(order.start + 0.6)
    assert relay["end"] == pytest.approx(order.start + 0.76)
    assert relay["offsetMs"] == pytest.approx(600.0)
    assert relay["durationMs"] == pytest.approx(160.0)
    # a call: the service it went to, the operation
    write = by_key["place.write"]
    assert (write["service"], write["operation"], write["retries"]) == (
        "DynamoDB",
        "TransactWriteItems",
        1,
    )
    # local work is its segment's: the handler (its own document) belongs to PlaceOrder
    assert by_key["place.handler"]["service"] == "Orderflow-PlaceOrder"
    assert by_key["place.handler"]["depth"] == by_key["place.function"]["depth"] + 1
    assert by_key["api"]["operation"] == "POST /prod/orders"
    assert by_key["api"]["parentId"] is None
    # errors, faults, throttles; the state machine's retry as a repeat
    assert by_key["authorize-1.lambda"]["fault"] is True
    assert by_key["authorize-1.lambda"]["cause"] == "PaymentProviderUnavailable: timeout"
    assert by_key["confirm.update"]["error"] is True
    assert by_key["confirm.update"]["fault"] is False
    assert by_key["relay.put1"]["throttle"] is True
    assert (by_key["authorize.invoke2"]["attempt"], by_key["authorize.invoke2"]["attempts"]) == (
        2,
        2,
    )
    assert by_key["reserve.invoke"]["attempts"] == 1
    failed = {key for key, span in by_key.items() if span["error"] or span["fault"]}
    assert failed == {
        "relay.put1",
        "authorize.invoke1",
        "authorize-1.lambda",
        "authorize-1.function",
        "authorize-1.handler",
        "confirm.update",
    }


def test_waterfall_shows_rows_in_tree_order_with_offsets_durations_and_marks(
    order: Fixture,
) -> None:
    spans = spans_json(ORDER_ID)
    result = orderflow("trace", ORDER_ID)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0]
    assert f"trace {order.trace_id}" in header
    assert "2,600.0 ms" in header  # API Gateway at 0 s to the saga's end at 2.6 s
    assert f"{len(TREE)} spans" in header
    assert "6 failed" in header
    rows = lines[2:]  # after the header and the table's column names
    assert len(rows) == len(TREE)
    for row, span in zip(rows, spans, strict=True):
        assert span["name"] in row
        assert f" {span['offsetMs']:,.1f} " in row
        assert f" {span['durationMs']:,.1f} " in row
    by_key = dict(zip(TREE, rows, strict=True))
    # indentation follows depth
    assert by_key["place.handler"].index("## lambda_handler") > by_key["place.function"].index(
        "Orderflow-PlaceOrder"
    )
    assert "[fault]" in by_key["authorize-1.lambda"]
    assert "PaymentProviderUnavailable: timeout" in by_key["authorize-1.lambda"]
    assert "[error]" in by_key["confirm.update"]
    assert "ConditionalCheckFailedException" in by_key["confirm.update"]
    assert "[throttle]" in by_key["relay.put1"] and "[error]" in by_key["relay.put1"]
    assert "[repeat 2/2]" in by_key["relay.put2"]
    assert "[repeat 2/2]" in by_key["authorize.invoke2"]
    assert "[1 SDK retry]" in by_key["place.write"]
    assert "[" not in by_key["reserve.update"]
    # stderr says the order was found without X-Ray's filter (moto has none)
    assert "cannot filter by annotation" in result.stderr


def test_documents_of_one_trace_merge_into_one_tree_however_they_were_sent(
    order: Fixture,
) -> None:
    # each document alone, in reverse, and a copy of the relay still in progress
    relay = next(d for d in order.documents if d["id"] == order.ids["relay"])
    in_progress = {**relay, "in_progress": True}
    del in_progress["end_time"]
    documents = [*reversed(order.documents), in_progress]

    trace = build_trace(order.trace_id, documents)

    assert [span.id for span in trace.spans] == [order.ids[key] for key in TREE]
    roots = [span for span in trace.spans if span.depth == 0]
    assert [span.id for span in roots] == [order.ids["api"]]
    assert next(s for s in trace.spans if s.id == order.ids["relay"]).end is not None


def test_a_span_whose_parent_did_not_arrive_is_a_root_marked_as_such(order: Fixture) -> None:
    without_saga = [d for d in order.documents if d["id"] != order.ids["relay"]]

    trace = build_trace(order.trace_id, without_saga)

    orphans = [span for span in trace.spans if span.parent_missing]
    assert {span.id for span in orphans} == {order.ids["saga"], order.ids["projector"]}
    assert all(span.depth == 0 for span in orphans)
    shown = orderflow_rows_for(trace)
    assert "parent " + order.ids["relay.put2"] + " not in the trace" in shown


def orderflow_rows_for(trace: Any) -> str:
    from rich.console import Console

    from orderflow_cli.trace import waterfall

    console = Console(width=260, record=True)
    waterfall(trace, console)
    return console.export_text()


def otlp_request(document: dict[str, Any]) -> ExportTraceServiceRequest:
    """Parse OTLP/JSON as a collector does: ids are hex in OTLP/JSON (bytes are base64 in the
    protobuf JSON mapping), everything else by the protobuf JSON mapping, unknown fields
    refused."""
    converted = json.loads(json.dumps(document))
    for resource in converted["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(converted, ExportTraceServiceRequest())


def test_otlp_file_is_an_export_request_with_every_span(order: Fixture, tmp_path: Path) -> None:
    out = tmp_path / "trace.otlp.json"
    result = orderflow("trace", ORDER_ID, "--otlp", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote OTLP/JSON to {out}" in result.stderr
    document = json.loads(out.read_text())

    request = otlp_request(document)

    spans = {
        span.span_id.hex(): (resource, span)
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert set(spans) == {order.ids[key] for key in TREE}
    hex_trace = order.trace_id[2:].replace("-", "")
    assert len(hex_trace) == 32
    assert {span.trace_id.hex() for _, span in spans.values()} == {hex_trace}
    for resource in request.resource_spans:
        names = [
            a.value.string_value for a in resource.resource.attributes if a.key == "service.name"
        ]
        assert len(names) == 1
    resource, relay = spans[order.ids["relay"]]
    assert relay.parent_span_id.hex() == order.ids["place.write"]
    assert relay.kind == OtlpSpan.SPAN_KIND_SERVER
    assert relay.start_time_unix_nano == round((order.start + 0.6) * 1e6) * 1000
    assert relay.end_time_unix_nano - relay.start_time_unix_nano == 160_000_000
    attributes = {a.key: a.value.string_value for a in relay.attributes}
    assert attributes["order_id"] == ORDER_ID
    assert attributes["correlation_id"] == CORRELATION_ID
    assert [
        a.value.string_value for a in resource.resource.attributes if a.key == "service.name"
    ] == ["Orderflow-OutboxRelay"]
    _, write = spans[order.ids["place.write"]]
    assert write.kind == OtlpSpan.SPAN_KIND_CLIENT
    assert write.name == "DynamoDB.TransactWriteItems"
    _, handler = spans[order.ids["place.handler"]]
    assert handler.kind == OtlpSpan.SPAN_KIND_INTERNAL
    _, fault = spans[order.ids["authorize-1.lambda"]]
    assert fault.status.code == Status.STATUS_CODE_ERROR
    assert fault.status.message == "PaymentProviderUnavailable: timeout"
    assert [event.name for event in fault.events] == ["exception"]
    assert spans[order.ids["reserve.update"]][1].status.code == Status.STATUS_CODE_UNSET
    # the root has no parent: the field is left out, not empty
    assert "parentSpanId" not in next(
        span
        for resource in document["resourceSpans"]
        for span in resource["scopeSpans"][0]["spans"]
        if span["spanId"] == order.ids["api"]
    )


def test_a_trace_id_names_the_trace_directly(order: Fixture) -> None:
    spans = spans_json(order.trace_id)

    assert keys_of(order, spans) == TREE


def test_no_trace_for_the_order_exits_1_saying_why(order: Fixture) -> None:
    result = orderflow("trace", "ord-unknown")

    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "no trace of order 'ord-unknown'" in message
    assert "not sampled" in message
    assert "have not arrived yet" in message
    assert "widen --since" in message
    assert "none of the 2 trace(s) of the window" in message


def test_a_trace_older_than_the_window_is_not_found(order: Fixture) -> None:
    result = orderflow("trace", ORDER_ID, "--since", "1m")

    assert result.exit_code == 1
    assert "no trace of order" in result.stderr


def test_unknown_trace_id_exits_1(mocked_aws: None) -> None:
    result = orderflow("trace", "1-5759e988-bd862e3fe1be46a994272793")

    assert result.exit_code == 1
    assert "X-Ray has no trace 1-5759e988-bd862e3fe1be46a994272793" in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (['ord" OR annotation.x = "1'], "is not an order id"),
        (["ord-1", "--since", "yesterday"], "is neither a duration"),
        (["ord-1", "--since", "40d"], "more than X-Ray's 30 days"),
    ],
)
def test_bad_input_exits_2(mocked_aws: None, args: list[str], said: str) -> None:
    result = orderflow("trace", *args)

    assert result.exit_code == 2
    assert said in " ".join(result.stderr.split())


def test_the_query_filters_by_the_order_annotation_in_slices_of_six_hours() -> None:
    end = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    queries = summaries_queries("ord-1", end - timedelta(hours=13), end)

    assert [q["FilterExpression"] for q in queries] == ['annotation.order_id = "ord-1"'] * 3
    assert [(q["StartTime"], q["EndTime"]) for q in queries] == [
        (end - timedelta(hours=13), end - timedelta(hours=7)),
        (end - timedelta(hours=7), end - timedelta(hours=1)),
        (end - timedelta(hours=1), end),
    ]
    assert {q["TimeRangeType"] for q in queries} == {"TraceId"}
    assert slices(end, end) == []
    with pytest.raises(ValueError, match="not an order id"):
        order_filter('x" OR service("y')


def test_since_takes_durations_and_times() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-12-01T10:00:00", now) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    with pytest.raises(typer.BadParameter, match="not in the past"):
        parse_since("2026-12-02T00:00:00Z", now)


def test_an_order_with_two_traces_shows_both_oldest_first(order: Fixture) -> None:
    # the client sent POST /orders again (an idempotent retry): a second trace of the order
    again = order_trace(round(time.time() - 30, 3))
    put(again)

    spans = spans_json(ORDER_ID)
    shown = orderflow("trace", ORDER_ID)

    traces = list(dict.fromkeys(span["traceId"] for span in spans))
    assert traces == [order.trace_id, again.trace_id]
    assert len(spans) == 2 * len(TREE)
    headers = [line for line in shown.stdout.splitlines() if line.startswith("trace 1-")]
    assert [header.split()[1] for header in headers] == traces


def test_generated_names_read_short_and_others_stay() -> None:
    from orderflow_cli.names import short_names

    names = short_names(
        [
            "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75",  # the emulator's generated names
            "Orderflow-FulfilmentSagaStateMachi-636d7e3f",
            "Orderflow-FulfilmentOrdersOutboxRelay-1A2B3C4D5E6F7",  # AWS's
            "dynamodb",
            "orderflow-api/prod",
            "send-notification",
        ]
    )

    assert names == {
        "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75": "OrdersPlaceOrd",
        "Orderflow-FulfilmentSagaStateMachi-636d7e3f": "SagaStateMachi",
        "Orderflow-FulfilmentOrdersOutboxRelay-1A2B3C4D5E6F7": "OrdersOutboxRelay",
        "dynamodb": "dynamodb",
        "orderflow-api/prod": "orderflow-api/prod",
        "send-notification": "send-notification",
    }
    # one generated name alone keeps its prefix (nothing to tell it apart from)
    assert short_names(["Orderflow-FulfilmentOrdersPlaceOrd-e660ea75"]) == {
        "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75": "Orderflow-FulfilmentOrdersPlaceOrd"
    }


# --- the names people read (orderflow_cli.names) ---------------------------------------------


@pytest.fixture
def stack(mocked_aws: None) -> None:
    """The trace's functions and state machine in the stack, tagged as the app tags them."""
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(stack_template())
    )


def test_stack_functions_read_as_service_and_function_in_json_and_waterfall(
    order: Fixture, stack: None
) -> None:
    spans = spans_json(ORDER_ID)
    shown = orderflow("trace", ORDER_ID)

    assert shown.exit_code == 0, shown.output
    by_key = dict(zip(TREE, spans, strict=True))
    # the JSON keeps X-Ray's names and adds the readable ones
    place = by_key["place.function"]
    assert (place["name"], place["service"]) == ("Orderflow-PlaceOrder", "Orderflow-PlaceOrder")
    assert (place["displayName"], place["displayService"]) == (
        "orders/place-order",
        "orders/place-order",
    )
    handler = by_key["place.handler"]
    assert (handler["displayName"], handler["displayService"]) == (
        "## lambda_handler",
        "orders/place-order",
    )
    assert by_key["relay"]["displayName"] == "orders/outbox-relay"
    assert by_key["ship.lambda"]["displayName"] == "shipping/schedule-shipment"
    assert by_key["saga"]["name"] == "Orderflow-Saga"
    assert by_key["saga"]["displayName"] == by_key["reserve"]["displayService"] == "saga"
    # as they are: the API stage, the AWS services called, another stack's function
    assert by_key["api"]["displayName"] == "orderflow-api/prod"
    assert by_key["place.write"]["displayService"] == "DynamoDB"
    assert by_key["projector"]["displayName"] == "Orderflow-Projector"
    # the waterfall: the readable names, the generated ones nowhere
    for name in ("orders/place-order", "payments/authorize-payment", "orders/confirm-order"):
        assert f"└ {name} " in shown.stdout
    assert any(line.lstrip().startswith("└ saga ") for line in shown.stdout.splitlines())
    for name in FUNCTION_TAGS:
        assert name not in shown.stdout
    assert "Orderflow-Projector" in shown.stdout


def test_html_shows_the_readable_names_in_the_waterfall_and_the_service_map(
    order: Fixture, stack: None, tmp_path: Path
) -> None:
    page = tmp_path / "trace.html"

    result = orderflow("trace", ORDER_ID, "--html", str(page))

    assert result.exit_code == 0, result.output
    source = page.read_text()
    nodes = set(re.findall(r'class="node-name">([^<]*)</text>', source))
    assert {"orders/place-order", "orders/outbox-relay", "saga", "payments/authorize-payment"} <= (
        nodes
    )
    assert {"orderflow-api/prod", "DynamoDB", "Orderflow-Projector"} <= nodes
    cells = re.findall(r'<tr class="span"[^>]*><td[^>]*>([^<]*)</td><td>([^<]*)</td>', source)
    assert ("orders/confirm-order", "orders/confirm-order") in cells
    assert ("AuthorizePayment", "saga") in cells
    # X-Ray's names stay where a person looks for them: the tooltips and the data attributes
    assert 'data-service="Orderflow-PlaceOrder"' in source
    assert "<title>Orderflow-Saga (AWS::StepFunctions::StateMachine)</title>" in source


def test_without_the_stack_names_fall_back_to_the_shortening(order: Fixture) -> None:
    spans = spans_json(ORDER_ID)  # no stack Orderflow: no name resolved, the command works

    by_key = dict(zip(TREE, spans, strict=True))
    assert by_key["place.function"]["displayName"] == "Orderflow-PlaceOrder"
    assert by_key["saga"]["displayName"] == "Orderflow-Saga"


def test_names_are_resolved_once_per_run_with_two_calls(stack: None, tmp_path: Path) -> None:
    from orderflow_cli.names import display_names
    from orderflow_cli.stack import StackRef

    ref = StackRef(outputs_file=tmp_path / "outputs.json", name=STACK)
    calls: list[str] = []
    ref.client("cloudformation").meta.events.register(
        "before-send.*", lambda **kwargs: calls.append(kwargs["request"].url)
    )
    first, again = display_names(ref), display_names(ref)

    assert first is again
    assert len(calls) == 2  # ListStackResources, GetTemplate: no call per function
    assert first.known["Orderflow-AuthorizePayment"] == "payments/authorize-payment"
    assert first.known["Orderflow-Saga"] == "saga"
    missing = StackRef(outputs_file=tmp_path / "outputs.json", name="Nope")
    assert display_names(missing).known == {}


MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine"


def test_unresolved_names_are_shortened_among_themselves() -> None:
    from orderflow_cli.names import DisplayNames, names_of

    names = names_of(
        [
            {
                "LogicalResourceId": "Place",
                "ResourceType": "AWS::Lambda::Function",
                "PhysicalResourceId": "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75",
            },
            {
                "LogicalResourceId": "Custom",  # CDK's own function: no tags of the app
                "ResourceType": "AWS::Lambda::Function",
                "PhysicalResourceId": "Orderflow-FulfilmentCustomResourceProvi-1a2b3c4d",
            },
            {
                "LogicalResourceId": "Saga",
                "ResourceType": "AWS::StepFunctions::StateMachine",
                "PhysicalResourceId": f"{MACHINE_ARN}:Orderflow-Saga-0f1e2d3c",
            },
        ],
        {
            "Resources": {
                "Place": {
                    "Properties": {
                        "Tags": [
                            {"Key": "orderflow:service", "Value": "orders"},
                            {"Key": "orderflow:function", "Value": "place-order"},
                        ]
                    }
                },
                "Custom": {"Properties": {}},
            }
        },
    )

    assert isinstance(names, DisplayNames)
    assert names.labels(
        [
            "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75",
            "Orderflow-Saga-0f1e2d3c",
            "Orderflow-FulfilmentCustomResourceProvi-1a2b3c4d",
            "Orderflow-FulfilmentOrdersOutboxRelay-1A2B3C4D5E6F7",  # another stack's
            "DynamoDB",
        ]
    ) == {
        "Orderflow-FulfilmentOrdersPlaceOrd-e660ea75": "orders/place-order",
        "Orderflow-Saga-0f1e2d3c": "saga",
        "Orderflow-FulfilmentCustomResourceProvi-1a2b3c4d": "CustomResourceProvi",
        "Orderflow-FulfilmentOrdersOutboxRelay-1A2B3C4D5E6F7": "OrdersOutboxRelay",
        "DynamoDB": "DynamoDB",
    }


def test_the_tags_read_are_those_the_app_gives() -> None:
    from infra import lambda_defaults
    from orderflow_cli import names

    assert (names.SERVICE_TAG, names.FUNCTION_TAG) == (
        lambda_defaults.SERVICE_TAG,
        lambda_defaults.FUNCTION_TAG,
    )


def test_a_long_cause_is_cut_in_the_waterfall_only() -> None:
    long = (
        "ConditionalCheckFailedException: An error occurred (ConditionalCheckFailedException) "
        "when calling the PutItem operation: The conditional request failed"
    )

    shown = terminal_cause(long)

    assert len(shown) == TERMINAL_CAUSE_CHARS
    assert shown.startswith("ConditionalCheckFailedException: An error occurred")
    assert shown.endswith("…")
    assert terminal_cause("PaymentProviderUnavailable: timeout") == (
        "PaymentProviderUnavailable: timeout"
    )
