"""The host Lambda executor keeps Lambda's semantics on the emulator, without Docker."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulator.clients import client
from tests.integration.support import eventually, invoke


def test_handler_gets_context_and_lambda_environment(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a deployed function with a 3 s timeout and 256 MB
    name = make_function(timeout=3, memory=256)

    # When it is invoked
    response, body = invoke(lambda_client, name, {"hello": "world"})

    # Then the handler saw Lambda's context object and environment
    assert "FunctionError" not in response
    context, env = body["context"], body["env"]
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(f":function:{name}")
    assert int(context["memory_limit_in_mb"]) == 256
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 3000
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert body["python"] == [3, 13]


def test_function_sees_the_runtime_not_the_emulator(lambda_client: Any, make_function: Any) -> None:
    # Given a function
    name = make_function()

    # When it looks around its sandbox
    _, body = invoke(lambda_client, name)

    # Then it can import what the Python runtime provides, and nothing of the emulator's or tests'
    assert body["importable"] == {
        "boto3": True,
        "localstack": False,
        "pytest": False,
        "moto": False,
    }


def test_trace_id_is_new_for_each_invocation(lambda_client: Any, make_function: Any) -> None:
    name = make_function()
    traces = {invoke(lambda_client, name)[1]["env"]["_X_AMZN_TRACE_ID"] for _ in range(3)}
    assert len(traces) == 3


def test_warm_environment_is_reused(lambda_client: Any, make_function: Any) -> None:
    # Given a function invoked once (cold)
    name = make_function()
    _, first = invoke(lambda_client, name)

    # When it is invoked again, one at a time
    _, second = invoke(lambda_client, name)

    # Then the same process served both
    assert first["pid"] == second["pid"]


def test_concurrent_invocations_get_separate_environments(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a function whose invocations overlap (each sleeps 1 s)
    name = make_function()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: invoke(lambda_client, name, {"sleep": 1})[1], range(3)))

    # Then each ran in its own execution environment
    assert len({r["pid"] for r in results}) == 3


def test_timeout_kills_the_environment_and_fails_the_invoke(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a function with a 1 s timeout, warmed up
    name = make_function(timeout=1)
    _, warm = invoke(lambda_client, name)

    # When an invocation runs past its timeout
    response, error = invoke(lambda_client, name, {"sleep": 5})

    # Then the invoke fails the way Lambda's does
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]

    # And the sandbox was reset: the next invocation runs in a fresh process and succeeds
    response, after = invoke(lambda_client, name)
    assert "FunctionError" not in response
    assert after["pid"] != warm["pid"]


def test_unhandled_exception_is_an_aws_shaped_error(lambda_client: Any, make_function: Any) -> None:
    name = make_function(handler="probe.explode")

    response, error = invoke(lambda_client, name, {"why": "testing"})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "exploded on purpose: testing"
    assert any("probe.py" in frame and "explode" in frame for frame in error["stackTrace"])
    assert not any("bootstrap.py" in frame for frame in error["stackTrace"])


def test_missing_handler_function(lambda_client: Any, make_function: Any) -> None:
    name = make_function(handler="probe.does_not_exist")

    response, error = invoke(lambda_client, name)

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert "does_not_exist" in error["errorMessage"]


def test_missing_handler_module_then_emulator_keeps_serving(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a function whose handler module does not exist
    broken = make_function(handler="nowhere.handler")

    # When it is invoked
    response, error = invoke(lambda_client, broken)

    # Then the error names the module, in Lambda's shape
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'nowhere'" in error["errorMessage"]

    # And other functions are still served
    healthy = make_function()
    response, _ = invoke(lambda_client, healthy)
    assert "FunctionError" not in response


def test_output_reaches_cloudwatch_logs(lambda_client: Any, make_function: Any) -> None:
    # Given a function that prints its event
    name = make_function()
    response, _ = invoke(lambda_client, name, {"marker": "find-me-42"})
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = client("logs")

    # Then its output, framed by START/END/REPORT, is in its log group
    def messages() -> str:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:  # shipped asynchronously, as on AWS
            return ""
        return "".join(e["message"] for e in events)

    def found() -> str | None:
        text = messages()
        return text if "find-me-42" in text else None

    text = eventually(found)
    assert f"START RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}" in text
    assert json.dumps({"marker": "find-me-42"}).replace('"', "'") in text


def test_invocation_and_error_metrics_reach_cloudwatch(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a function invoked 3 times, once failing
    name = make_function(handler="probe.explode")
    for _ in range(3):
        invoke(lambda_client, name)
    cloudwatch = client("cloudwatch")

    # Then the AWS/Lambda metrics count every invocation and error (batched, so eventually)
    def total(metric: str) -> float:
        now = time.time()
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            StartTime=now - 600,
            EndTime=now + 60,
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    eventually(lambda: total("Invocations") == 3 and total("Errors") == 3, timeout_s=15)


def test_dynamodb_calls_of_a_function_reach_the_same_tables_and_streams(
    lambda_client: Any, make_function: Any
) -> None:
    # Given a table with a stream, created through the emulator's gateway
    dynamodb, streams = client("dynamodb"), client("dynamodbstreams")
    table = f"it-direct-{uuid.uuid4().hex[:8]}"
    created = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    try:
        # When a function writes to it (its DynamoDB endpoint is DynamoDB Local's own)
        name = make_function(handler="probe.put_item")
        _, body = invoke(lambda_client, name, {"table": table, "pk": "written-by-lambda"})

        # Then the gateway sees the item, and the stream has the change
        assert body["endpoint"] != client("dynamodb").meta.endpoint_url
        item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "written-by-lambda"}})
        assert item["Item"] == {"pk": {"S": "written-by-lambda"}}
        stream_arn = created["LatestStreamArn"]
        [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        [record] = streams.get_records(ShardIterator=iterator)["Records"]
        assert record["eventName"] == "INSERT"
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "written-by-lambda"}}
    finally:
        dynamodb.delete_table(TableName=table)
