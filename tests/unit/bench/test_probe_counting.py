"""bench/probe: what one request through the emulator's gateway is counted as."""

from __future__ import annotations

from typing import Any

from bench.probe.orderflow_bench_probe.counting import (
    BENCH_AGENT,
    api_route,
    as_rows,
    from_rows,
    key_of,
)

LAMBDA_AGENT = "Boto3/1.40 md/Botocore#1.40 ua/2.1 os/linux exec-env/AWS_Lambda_python3.13"


def counted_or_none(**overrides: Any) -> tuple[str, str, str, str] | None:
    request: dict[str, Any] = {
        "method": "POST",
        "path": "/",
        "user_agent": "Boto3/1.40",
        "internal_params": None,
        "service": "dynamodb",
        "operation": "PutItem",
        "answer": {},
        "error_code": None,
    }
    return key_of(**{**request, **overrides})


def counted(**overrides: Any) -> tuple[str, str, str, str]:
    key = counted_or_none(**overrides)
    assert key is not None
    return key


def test_callers_told_apart() -> None:
    assert counted()[0] == "client"
    assert counted(user_agent=LAMBDA_AGENT)[0] == "function"
    assert counted(user_agent=f"Boto3/1.40 {BENCH_AGENT}")[0] == "bench"
    internal = {"service_principal": "states.amazonaws.com", "source_arn": "arn:..."}
    assert counted(internal_params=internal)[0] == "service:states"
    assert counted(internal_params={})[0] == "service:localstack"


def test_empty_polls_and_errors_are_marked() -> None:
    assert counted(service="sqs", operation="ReceiveMessage", answer={}) == (
        "client",
        "sqs",
        "ReceiveMessage",
        "empty",
    )
    assert counted(service="sqs", operation="ReceiveMessage", answer={"Messages": [{}]})[3] == ""
    assert (
        counted(service="dynamodbstreams", operation="GetRecords", answer={"Records": []})[3]
        == "empty"
    )
    assert counted(error_code="ConditionalCheckFailedException")[3] == (
        "error:ConditionalCheckFailedException"
    )


def test_api_stage_requests_are_counted_by_route() -> None:
    path = "/_aws/execute-api/abc123/prod/orders/01JD5X4Z9Q"

    assert counted(service=None, operation=None, method="GET", path=path) == (
        "client",
        "execute-api",
        "GET /orders/{id}",
        "",
    )
    assert api_route("POST", "/_aws/execute-api/abc123/prod/orders?x=1") == "POST /orders"
    assert api_route("GET", "/_aws/execute-api/abc123/prod/products") == "GET /products"


def test_the_emulators_own_endpoints_are_not_counted() -> None:
    for path in ("/_localstack/health", "/_orderflow/patches", "/_orderflow_bench/counts"):
        assert counted_or_none(service=None, operation=None, path=path, method="GET") is None


def test_rows_round_trip_largest_first() -> None:
    counts = {("a", "s", "o", ""): 1, ("b", "s", "o", "empty"): 5}

    rows = as_rows(counts)

    assert [row["count"] for row in rows] == [5, 1]
    assert from_rows(rows) == counts
