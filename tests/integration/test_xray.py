"""X-Ray on the emulator (emulator/hostexec/orderflow_hostexec/xray/): the segments AWS's
services contribute and the SDK sends, under one trace id, read back through the X-Ray API with
boto3 and the AWS CLI, as on AWS.

Each test starts its trace itself with ``Sampled=1`` (a caller's decision is kept downstream),
so none depends on the sampling rules in force: the Default rule samples 1 request a second
plus 5%, and other tests' requests may have taken this second's reservoir."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from emulator.clients import client, endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product
from tests.sample_events import fresh_entry

ROOT = Path(__file__).resolve().parents[2]
STAGE = "AWS::ApiGateway::Stage"
LAMBDA = "AWS::Lambda"
FUNCTION = "AWS::Lambda::Function"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"


@pytest.fixture(scope="module")
def xray(emulator: None) -> Any:
    return client("xray")


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-xray", stage_issuer
    )


def new_trace() -> tuple[str, str]:
    """A trace id and a parent segment id, as an upstream caller would send them."""
    return f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}", uuid.uuid4().hex[:16]


def documents(xray: Any, trace_id: str) -> list[dict[str, Any]]:
    traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(s["Document"]) for t in traces for s in t["Segments"]]


def entities(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A document and every subsegment nested in it."""
    found = [document]
    for child in document.get("subsegments", []):
        found += entities(child)
    return found


def test_a_traced_api_request_has_the_stage_and_function_segments_in_one_trace(
    api: KeyedApi, xray: Any, outputs: dict[str, str]
) -> None:
    trace_id, parent = new_trace()

    answer = api.request(
        "GET",
        "/products",
        headers={"X-Amzn-Trace-Id": f"Root={trace_id};Parent={parent};Sampled=1"},
    )

    assert answer.status == 200
    assert answer.headers["X-Amzn-Trace-Id"].startswith(f"Root={trace_id};")

    def complete() -> list[dict[str, Any]] | None:
        found = documents(xray, trace_id)
        by_origin = {d.get("origin") for d in found}
        handler = any(e["name"] == "## handler" for d in found for e in entities(d))
        return found if {STAGE, LAMBDA, FUNCTION} <= by_origin and handler else None

    found = eventually(complete, timeout_s=30)
    stage = next(d for d in found if d.get("origin") == STAGE)
    service = next(d for d in found if d.get("origin") == LAMBDA)
    function = next(d for d in found if d.get("origin") == FUNCTION)
    # the stage segment: named <api name>/<stage>, under the caller's segment
    assert stage["name"].endswith("/prod") and stage["parent_id"] == parent
    assert stage["http"]["request"]["method"] == "GET"
    assert stage["http"]["response"]["status"] == 200
    # stage -> its integration call -> Lambda's service segment -> the function segment
    [call] = stage["subsegments"]
    assert service["parent_id"] == call["id"]
    assert function["parent_id"] == service["id"]
    # and the SDK's subsegments (Powertools Tracer), sent to the daemon, under the function
    assert "## handler" in [s["name"] for s in function["subsegments"]]

    # the same trace, found by the X-Ray API's summaries and a filter expression (every page:
    # after the rest of the suite, the stage has served more than one page of traces)
    now = time.time()
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=now - 300, EndTime=now + 60, FilterExpression=f'service("{stage["name"]}")'
    )
    summaries = [summary for page in pages for summary in page["TraceSummaries"]]
    summary = next(s for s in summaries if s["Id"] == trace_id)
    assert summary["EntryPoint"]["Name"] == stage["name"]
    assert summary["Http"]["HttpStatus"] == 200


def test_a_caller_that_did_not_sample_gets_no_segments_recorded(api: KeyedApi, xray: Any) -> None:
    trace_id, parent = new_trace()

    answer = api.request(
        "GET",
        "/products",
        headers={"X-Amzn-Trace-Id": f"Root={trace_id};Parent={parent};Sampled=0"},
    )

    assert answer.status == 200
    # the decision travels on: the stage and the function kept Sampled=0 ...
    assert "Sampled=0" in answer.headers["X-Amzn-Trace-Id"]
    # ... so neither recorded a segment (both do so before the response is sent)
    assert xray.batch_get_traces(TraceIds=[trace_id])["UnprocessedTraceIds"] == [trace_id]


@pytest.fixture
def in_stock(lambda_client: Any, outputs: dict[str, str]) -> str:
    return stocked_product(lambda_client, outputs, price="12.50", available=100)


def order_placed(sku: str, trace_header: str) -> dict[str, Any]:
    entry = fresh_entry("order-placed")
    detail = json.loads(entry["Detail"])
    detail["data"]["items"] = [{"sku": sku, "quantity": 1, "unitPrice": "12.50"}]
    detail["data"]["total"] = "12.50"
    return {**entry, "Detail": json.dumps(detail), "TraceHeader": trace_header}


def aws_cli(*args: str) -> Any:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = subprocess.run(
        [str(ROOT / ".venvs/emulator/bin/aws"), "--endpoint-url", endpoint(), *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def test_put_events_with_a_trace_header_reaches_the_saga_and_its_lambda_tasks(
    in_stock: str,
) -> None:
    trace_id, parent = new_trace()
    entry = order_placed(in_stock, f"Root={trace_id};Parent={parent};Sampled=1")

    client("events").put_events(Entries=[entry])

    def saga_recorded() -> list[dict[str, Any]] | None:
        # read as the README does: `aws xray batch-get-traces`
        answer = aws_cli("xray", "batch-get-traces", "--trace-ids", trace_id)
        found = [json.loads(s["Document"]) for t in answer["Traces"] for s in t["Segments"]]
        return found if any(d.get("origin") == STATE_MACHINE for d in found) else None

    found = eventually(saga_recorded, timeout_s=120, every_s=1)
    saga = next(d for d in found if d.get("origin") == STATE_MACHINE)
    # the execution continues the entry's trace, under the caller's segment
    assert saga["parent_id"] == parent
    states = {s["name"]: s for s in saga["subsegments"]}
    assert {"ReserveInventory", "AuthorizePayment"} <= set(states)
    # each Lambda task's invocation is in the same trace, under the task's Lambda subsegment
    lambda_parents = {d["parent_id"] for d in found if d.get("origin") == LAMBDA}
    for name in ("ReserveInventory", "AuthorizePayment"):
        calls = [s["id"] for s in states[name].get("subsegments", []) if s["name"] == "Lambda"]
        assert calls and set(calls) <= lambda_parents, (name, calls)
    # and the functions' own segments hang under their service segments
    services = {d["id"] for d in found if d.get("origin") == LAMBDA}
    assert all(d["parent_id"] in services for d in found if d.get("origin") == FUNCTION)

    # the X-Ray API finds it by the state machine's name
    now = time.time()
    summaries = aws_cli(
        "xray",
        "get-trace-summaries",
        "--start-time",
        str(int(now - 600)),
        "--end-time",
        str(int(now + 60)),
        "--filter-expression",
        f'service("{saga["name"]}") AND ok',
    )["TraceSummaries"]
    assert trace_id in [s["Id"] for s in summaries]


def test_an_outcome_reaches_the_notifications_through_sns_and_sqs_in_its_trace() -> None:
    # OrderConfirmed -> rule -> SNS topic -> an SQS queue per subscriber -> each one's function
    trace_id, parent = new_trace()
    entry = fresh_entry("order-confirmed")

    # another order's outcome first, in the same call: the subscribers' batching windows are
    # likely to put both messages in one batch, this one second
    client("events").put_events(
        Entries=[
            fresh_entry("order-confirmed"),
            {**entry, "TraceHeader": f"Root={trace_id};Parent={parent};Sampled=1"},
        ]
    )

    def subscribers() -> set[str] | None:
        found = [
            json.loads(s["Document"])
            for t in client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
            for s in t["Segments"]
        ]
        # each queue's message carried the header SNS got (AWSTraceHeader), under the entry's
        # own parent, and each subscriber's function continued it: as its invocation's segment
        # when the message came first in its batch (Lambda continues the first record's
        # trace), else as the record's span (shared_kernel.tracing, named after the function):
        # the subscribers gather messages for 2 s, so a batch may hold other tests' outcomes
        names = {
            d["name"]
            for d in found
            if d.get("parent_id") == parent
            and "Notifications" in d["name"]  # the customer notifier and the audit recorder
        }
        return names if len(names) >= 2 else None

    assert len(eventually(subscribers, timeout_s=60)) == 2


TRACE_EVERYTHING: dict[str, Any] = {
    "RuleName": "RULE_NAME",
    "Priority": 100,
    "FixedRate": 1.0,
    "ReservoirSize": 1,
    "ServiceName": "*",
    "ServiceType": "*",
    "Host": "*",
    "HTTPMethod": "*",
    "URLPath": "*",
    "ResourceARN": "*",
    "Version": 1,
}
SAMPLING_RULE_TEMPLATE = {
    "Resources": {
        "Rule": {
            "Type": "AWS::XRay::SamplingRule",
            "Properties": {"SamplingRule": TRACE_EVERYTHING},
        }
    },
    "Outputs": {"RuleArn": {"Value": {"Fn::GetAtt": ["Rule", "RuleARN"]}}},
}


def test_a_sampling_rule_in_a_template_is_deployed_and_removed_with_its_stack(xray: Any) -> None:
    name = f"it-{uuid.uuid4().hex[:8]}"
    template = json.dumps(SAMPLING_RULE_TEMPLATE).replace("RULE_NAME", name)
    cloudformation = client("cloudformation")

    cloudformation.create_stack(StackName=name, TemplateBody=template)
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )

    def rules() -> dict[str, dict[str, Any]]:
        records = xray.get_sampling_rules()["SamplingRuleRecords"]
        return {r["SamplingRule"]["RuleName"]: r["SamplingRule"] for r in records}

    try:
        rule = rules()[name]
        assert (rule["FixedRate"], rule["ReservoirSize"], rule["Priority"]) == (1.0, 1, 100)
        [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        assert stack["Outputs"][0]["OutputValue"] == rule["RuleARN"]
    finally:
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    assert name not in rules()
    assert "Default" in rules()


def test_a_filter_expression_the_emulator_does_not_evaluate_is_a_clear_error(xray: Any) -> None:
    now = time.time()
    with pytest.raises(xray.exceptions.InvalidRequestException, match="only predicates joined"):
        xray.get_trace_summaries(
            StartTime=now - 60, EndTime=now, FilterExpression='service("a") OR service("b")'
        )


def test_sampling_rules_and_targets_through_the_api_as_the_sdks_use_them(xray: Any) -> None:
    name = f"it-{uuid.uuid4().hex[:8]}"
    created = xray.create_sampling_rule(
        SamplingRule={**TRACE_EVERYTHING, "RuleName": name, "Priority": 9000}
    )
    arn = created["SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
    try:
        updated = xray.update_sampling_rule(SamplingRuleUpdate={"RuleARN": arn, "FixedRate": 0.25})
        assert updated["SamplingRuleRecord"]["SamplingRule"]["FixedRate"] == 0.25
        targets = xray.get_sampling_targets(
            SamplingStatisticsDocuments=[
                {
                    "RuleName": name,
                    "ClientID": "0123456789abcdef01234567",
                    "Timestamp": time.time(),
                    "RequestCount": 10,
                    "SampledCount": 3,
                    "BorrowCount": 0,
                }
            ]
        )
        [target] = targets["SamplingTargetDocuments"]
        assert (target["RuleName"], target["FixedRate"], target["ReservoirQuota"]) == (
            name,
            0.25,
            1,
        )
        with pytest.raises(xray.exceptions.InvalidRequestException, match="FixedRate"):
            xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": name, "FixedRate": 2.0})
    finally:
        xray.delete_sampling_rule(RuleARN=arn)
    with pytest.raises(xray.exceptions.InvalidRequestException, match="does not exist"):
        xray.delete_sampling_rule(RuleName=name)
