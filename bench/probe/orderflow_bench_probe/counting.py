"""What one request through the emulator's gateway is counted as: ``(caller, service,
operation, detail)``. Pure functions of the request's parts, so that they are unit-tested
without LocalStack (tests/unit/bench/test_probe_counting.py).

- caller: who sent it. ``service:<name>`` for LocalStack's own internal clients (they carry
  the calling service's principal: Lambda's event-source pollers, Step Functions' tasks,
  EventBridge's targets, API Gateway's integrations...); ``function`` for a Lambda function's
  SDK (its User-Agent names the ``AWS_Lambda_*`` execution environment); ``bench`` for the
  benchmark's own bookkeeping client (its User-Agent carries ``BENCH_AGENT``), which is not
  part of the system's cost; ``client`` for anyone else (the API's callers, the CLI).
- service, operation: the AWS service and operation; an API Gateway stage's request
  (``/_aws/execute-api/<api>/<stage>/...``) is ``execute-api`` with its method and path, every
  segment holding a digit replaced by ``{id}``.
- detail: ``empty`` for a poll that found nothing (SQS ``ReceiveMessage`` without messages,
  ``GetRecords`` without records): those depend on time, not on orders; ``error:<code>`` for
  an error answer; else empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BENCH_AGENT = "orderflow-bench"
EXECUTE_API_PREFIX = "/_aws/execute-api/"
POLLS = {
    ("sqs", "ReceiveMessage"): "Messages",
    ("dynamodbstreams", "GetRecords"): "Records",
    ("kinesis", "GetRecords"): "Records",
}
NOT_COUNTED_PREFIXES = ("/_localstack", "/_orderflow", "/_extension", "/favicon")

Key = tuple[str, str, str, str]


def caller_of(internal_params: Mapping[str, Any] | None, user_agent: str) -> str:
    if internal_params is not None:
        principal = str(internal_params.get("service_principal") or "localstack")
        return f"service:{principal.split('.', maxsplit=1)[0]}"
    if BENCH_AGENT in user_agent:
        return "bench"
    if "exec-env/AWS_Lambda" in user_agent:
        return "function"
    return "client"


def api_route(method: str, path: str) -> str:
    """``POST /orders`` from ``/_aws/execute-api/<api>/<stage>/orders``; id segments
    (holding a digit) become ``{id}``."""
    rest = path.removeprefix(EXECUTE_API_PREFIX).split("?", 1)[0].strip("/").split("/")[2:]
    segments = ["{id}" if any(c.isdigit() for c in s) else s for s in rest]
    return f"{method} /{'/'.join(segments)}"


def detail_of(
    service: str, operation: str, answer: Mapping[str, Any] | None, error_code: str | None
) -> str:
    if error_code:
        return f"error:{error_code}"
    field = POLLS.get((service, operation))
    if field is not None and answer is not None and not answer.get(field):
        return "empty"
    return ""


def key_of(
    *,
    method: str,
    path: str,
    user_agent: str,
    internal_params: Mapping[str, Any] | None,
    service: str | None,
    operation: str | None,
    answer: Mapping[str, Any] | None,
    error_code: str | None,
) -> Key | None:
    """The counter's key for one request, or None for the emulator's own endpoints."""
    caller = caller_of(internal_params, user_agent)
    if service:
        op = operation or "?"
        return (caller, service, op, detail_of(service, op, answer, error_code))
    if path.startswith(EXECUTE_API_PREFIX):
        return (caller, "execute-api", api_route(method, path), "")
    if path.startswith(NOT_COUNTED_PREFIXES):
        return None
    return (caller, "other", f"{method} /{path.strip('/').split('/')[0]}", "")


def as_rows(counts: Mapping[Key, int]) -> list[dict[str, Any]]:
    """JSON-ready rows, largest count first."""
    return [
        {"caller": c, "service": s, "operation": o, "detail": d, "count": n}
        for (c, s, o, d), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def from_rows(rows: Sequence[Mapping[str, Any]]) -> dict[Key, int]:
    """The inverse of ``as_rows`` (what bench/ab.py reads back)."""
    counts: dict[Key, int] = {}
    for row in rows:
        key = (str(row["caller"]), str(row["service"]), str(row["operation"]), str(row["detail"]))
        counts[key] = counts.get(key, 0) + int(row["count"])
    return counts
