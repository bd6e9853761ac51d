"""The segments AWS's services contribute, as the kit's X-Ray hooks record them
(orderflow_hostexec/xray/segments.py), and how the trace header travels (hooks.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderflow_hostexec.xray import cloudformation, segments
from orderflow_hostexec.xray.header import TraceHeader, trace_epoch
from orderflow_hostexec.xray.hooks import batch_header
from orderflow_hostexec.xray.store import TraceStore, validate

TRACE = "1-6b0e7a0a-3e0e1bcc696cabec6f9fe8ea"
T0 = 1_796_110_858.0
UPSTREAM = "1" * 16


def lambda_documents(error: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return segments.lambda_segments(
        trace_id=TRACE,
        upstream_parent=UPSTREAM,
        service_id="a" * 16,
        function_id="b" * 16,
        function_name="PlaceOrder",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:PlaceOrder",
        account_id="000000000000",
        region="us-east-1",
        request_id="req-1",
        start=T0,
        end=T0 + 0.2,
        error=error,
    )


def test_an_invocation_records_the_lambda_service_and_function_segments() -> None:
    service, function = lambda_documents()
    for document in (service, function):
        validate(document)
    assert (service["origin"], function["origin"]) == ("AWS::Lambda", "AWS::Lambda::Function")
    assert service["name"] == function["name"] == "PlaceOrder"
    # the caller's segment -> the service segment -> the function segment
    assert service["parent_id"] == UPSTREAM
    assert function["parent_id"] == service["id"]
    assert "fault" not in function


def test_the_sdks_subsegments_hang_under_the_function_segment_the_runtime_was_given() -> None:
    store = TraceStore(max_traces=5)
    for document in lambda_documents():
        store.put(document)
    # what the SDK streams with Parent=<function segment id> from _X_AMZN_TRACE_ID
    store.put(
        {
            "type": "subsegment",
            "trace_id": TRACE,
            "parent_id": "b" * 16,
            "id": "c" * 16,
            "name": "## handler",
            "start_time": T0 + 0.01,
            "end_time": T0 + 0.1,
        }
    )
    trace = store.get(TRACE)
    assert trace is not None
    function = next(d for d in trace.documents() if d["origin"] == "AWS::Lambda::Function")
    assert [s["name"] for s in function["subsegments"]] == ["Invocation", "## handler"]


def test_an_error_the_function_raised_is_a_fault_with_its_cause() -> None:
    _, function = lambda_documents({"type": "PaymentDeclined", "message": "card declined"})
    assert function["fault"] is True
    [exception] = function["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("PaymentDeclined", "card declined")


def stage(status: int, integration: bool = True) -> dict[str, Any]:
    return segments.api_gateway_segment(
        trace_id=TRACE,
        segment_id="a" * 16,
        upstream_parent=None,
        name="orderflow-dev-api/prod",
        api_id="abc",
        stage="prod",
        account_id="000000000000",
        region="us-east-1",
        request_id="r",
        url="http://127.0.0.1:4566/prod/orders",
        method="POST",
        user_agent="curl",
        client_ip="127.0.0.1",
        status=status,
        start=T0,
        end=T0 + 0.3,
        integration_id="d" * 16,
        integration_type="AWS_PROXY",
        integration_uri="arn:aws:apigateway:us-east-1:lambda:path/functions/arn/invocations",
        integration_start=T0 + 0.01 if integration else None,
        integration_end=T0 + 0.29 if integration else None,
    )


def test_a_stage_segment_is_named_api_slash_stage_with_its_request_and_response() -> None:
    segment = stage(202)
    validate(segment)
    assert (segment["name"], segment["origin"]) == (
        "orderflow-dev-api/prod",
        "AWS::ApiGateway::Stage",
    )
    assert segment["http"]["request"]["method"] == "POST"
    assert segment["http"]["response"]["status"] == 202
    assert segment["resource_arn"] == "arn:aws:apigateway:us-east-1::/restapis/abc/stages/prod"
    [call] = segment["subsegments"]
    # the integration subsegment is the Parent the function's trace continues from
    assert (call["id"], call["name"], call["namespace"]) == ("d" * 16, "Lambda", "aws")
    assert not any(segment.get(flag) for flag in ("error", "fault", "throttle"))


def test_a_stage_marks_4xx_as_error_429_as_throttle_and_5xx_as_fault() -> None:
    assert stage(400)["error"] and "fault" not in stage(400)
    assert stage(429)["throttle"] and stage(429)["error"]
    assert stage(502)["fault"] and stage(502)["subsegments"][0]["fault"]
    assert "subsegments" not in stage(403, integration=False)  # refused before integrating


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


HISTORY = [
    {"type": "ExecutionStarted", "timestamp": at(0)},
    {"type": "TaskStateEntered", "timestamp": at(0.1), "stateEnteredEventDetails": {"name": "Pay"}},
    {"type": "LambdaFunctionFailed", "timestamp": at(0.3)},
    {"type": "TaskStateExited", "timestamp": at(0.9), "stateExitedEventDetails": {"name": "Pay"}},
    {
        "type": "ChoiceStateEntered",
        "timestamp": at(1.0),
        "stateEnteredEventDetails": {"name": "Ok?"},
    },
    {"type": "ChoiceStateExited", "timestamp": at(1.1), "stateExitedEventDetails": {"name": "Ok?"}},
    {"type": "ExecutionSucceeded", "timestamp": at(1.2)},
]


def test_an_execution_is_a_segment_with_a_subsegment_per_state_and_per_lambda_attempt() -> None:
    first = segments.TaskCall(id="e" * 16, state="Pay", function="Pay", start=T0 + 0.15)
    first.end, first.error = T0 + 0.3, "PaymentProviderUnavailable"
    retry = segments.TaskCall(id="f" * 16, state="Pay", function="Pay", start=T0 + 0.5)
    retry.end = T0 + 0.85
    segment = segments.state_machine_segment(
        trace_id=TRACE,
        segment_id="a" * 16,
        upstream_parent=UPSTREAM,
        name="FulfilmentSaga",
        execution_arn="arn:aws:states:us-east-1:000000000000:execution:FulfilmentSaga:x",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:FulfilmentSaga",
        start=T0,
        end=T0 + 1.2,
        status="SUCCEEDED",
        history=HISTORY,
        calls=[first, retry],
    )
    validate(segment)
    assert (segment["origin"], segment["parent_id"]) == (
        "AWS::StepFunctions::StateMachine",
        UPSTREAM,
    )
    pay, choice = segment["subsegments"]
    assert (pay["name"], choice["name"]) == ("Pay", "Ok?")
    assert round(pay["end_time"] - pay["start_time"], 3) == 0.8
    assert pay["error"] is True  # a failed attempt, retried
    # each attempt's subsegment id is the Parent its function's trace continues from
    assert [(s["id"], bool(s.get("fault"))) for s in pay["subsegments"]] == [
        ("e" * 16, True),
        ("f" * 16, False),
    ]
    assert "fault" not in segment


def test_a_failed_execution_is_a_fault_and_its_open_state_ends_with_it() -> None:
    entered = HISTORY[:2]
    segment = segments.state_machine_segment(
        trace_id=TRACE,
        segment_id="a" * 16,
        upstream_parent=None,
        name="FulfilmentSaga",
        execution_arn="x",
        state_machine_arn="y",
        start=T0,
        end=T0 + 2,
        status="FAILED",
        history=entered,
        calls=[],
    )
    assert segment["fault"] is True
    assert segment["subsegments"][0]["end_time"] == T0 + 2


def sqs_record(header: str | None) -> dict[str, Any]:
    attributes = {"AWSTraceHeader": header} if header else {}
    return {"eventSource": "aws:sqs", "attributes": attributes, "body": "{}"}


def test_an_sqs_batch_continues_its_first_records_trace() -> None:
    first = f"Root={TRACE};Parent={UPSTREAM};Sampled=1"
    other = "Root=1-6b0e7a0b-000000000000000000000001;Parent=2222222222222222;Sampled=1"
    assert batch_header([sqs_record(first), sqs_record(other)]) == first
    assert batch_header({"Records": [sqs_record(first)]}) == first  # as the sender wraps it
    assert batch_header([sqs_record(None), sqs_record(other)]) is None


def test_a_dynamodb_stream_batch_starts_a_new_trace() -> None:
    assert batch_header([{"eventSource": "aws:dynamodb", "dynamodb": {}}]) is None
    assert batch_header([]) is None


def test_the_trace_header_keeps_its_decision_and_drops_what_is_malformed() -> None:
    header = TraceHeader.parse(f"Root={TRACE};Parent={UPSTREAM};Sampled=1;Lineage=a:1")
    assert str(header) == f"Root={TRACE};Parent={UPSTREAM};Sampled=1;Lineage=a:1"
    assert header.is_sampled and header.decided
    bad = TraceHeader.parse("Root=nope;Parent=xyz;Sampled=yes")
    assert (bad.root, bad.parent, bad.sampled) == (None, None, None)
    assert trace_epoch(TRACE) == 0x6B0E7A0A


def test_a_sampling_rule_resource_passes_its_rule_to_the_api() -> None:
    model = {
        "SamplingRule": {
            "RuleName": "orderflow-dev-all",
            "Priority": "100",
            "FixedRate": "1.0",
            "ReservoirSize": "1",
            "Version": "1",
            "ServiceName": "*",
        }
    }
    rule = cloudformation.rule_fields(model, "SamplingRule")
    assert (rule["Priority"], rule["FixedRate"], rule["ReservoirSize"], rule["Version"]) == (
        100,
        1.0,
        1,
        1,
    )
    assert cloudformation.rule_fields({"SamplingRule": {}}, "X" * 40)["RuleName"] == "X" * 32
