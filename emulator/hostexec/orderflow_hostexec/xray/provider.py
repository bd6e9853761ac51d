"""AWS X-Ray served by the emulator (LocalStack's open-source core has none).

Registered as the LocalStack service ``xray`` by the entry point ``localstack.aws.provider``
``xray:default`` (emulator/hostexec/pyproject.toml); requests are parsed from botocore's X-Ray
model, so boto3's ``xray`` client and ``aws xray`` work against the emulator endpoint. It reads
and writes the emulator's one trace store and sampler (``service.py``), which the daemon
(``daemon.py``) and the kit's hooks for AWS's own segments (``hooks.py``) fill.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.services.plugins import Service, ServiceLifecycleHook, aws_provider

from orderflow_hostexec.xray import graph
from orderflow_hostexec.xray.query import Summary, UnsupportedFilter, parse_filter
from orderflow_hostexec.xray.sampling import RuleLimitExceeded, SamplingError
from orderflow_hostexec.xray.service import SAMPLER, STORE
from orderflow_hostexec.xray.store import SegmentError, Trace, parse_document, trace_start

PAGE_SIZE = 100  # trace summaries per page
MAX_BATCH_TRACE_IDS = 5  # AWS: BatchGetTraces takes up to 5 trace ids


def _invalid(message: str) -> CommonServiceException:
    return CommonServiceException("InvalidRequestException", message, 400, sender_fault=True)


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    raise _invalid(f"{name} is required")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(token)
    except ValueError:
        raise _invalid(f"NextToken {token!r} is not one this API returned") from None
    if offset < 0:
        raise _invalid(f"NextToken {token!r} is not one this API returned")
    return offset


def _in_window(trace: Trace, kind: str, start: float, end: float) -> float | None:
    """The time the trace matched at (``MatchedEventTime``), or None if outside."""
    if kind == "TraceId":
        at = trace_start(trace)
        return at if start <= at <= end else None
    for entity in sorted(trace.entities.values(), key=lambda e: e.start):  # Event, Service
        if start <= entity.start <= end:
            return entity.start
    return None


class XRayProvider(ServiceLifecycleHook):
    service = "xray"

    @handler("PutTraceSegments", expand=False)
    def put_trace_segments(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        unprocessed = []
        for text in request.get("TraceSegmentDocuments") or []:
            try:
                STORE.put(parse_document(text))
            except SegmentError as error:
                STORE.reject(error)
                entity_id = ""
                with contextlib.suppress(ValueError, AttributeError):
                    entity_id = str(json.loads(text).get("id", ""))
                unprocessed.append({"Id": entity_id, "ErrorCode": "400", "Message": str(error)})
        return {"UnprocessedTraceSegments": unprocessed}

    @handler("GetTraceSummaries", expand=False)
    def get_trace_summaries(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        start = _epoch(request.get("StartTime"), "StartTime")
        end = _epoch(request.get("EndTime"), "EndTime")
        if end < start:
            raise _invalid("EndTime must not be before StartTime")
        kind = request.get("TimeRangeType") or "TraceId"
        if kind not in ("TraceId", "Event", "Service"):
            raise _invalid(f"TimeRangeType {kind!r} is not TraceId, Event or Service")
        try:
            wanted = parse_filter(request.get("FilterExpression"))
        except UnsupportedFilter as error:
            raise _invalid(f"FilterExpression: {error}") from None
        offset = _offset(request.get("NextToken"))
        matched: list[tuple[float, dict[str, Any]]] = []
        processed = 0
        for trace in STORE.traces():
            at = _in_window(trace, kind, start, end)
            if at is None:
                continue
            processed += 1
            summary = Summary.of(trace)
            if wanted(summary):
                api = summary.to_api()
                api["StartTime"] = datetime.fromtimestamp(api["StartTime"], UTC)
                if kind != "TraceId":
                    api["MatchedEventTime"] = datetime.fromtimestamp(at, UTC)
                matched.append((trace.start, api))
        matched.sort(key=lambda item: item[0])
        page = [api for _, api in matched[offset : offset + PAGE_SIZE]]
        answer: dict[str, Any] = {
            "TraceSummaries": page,
            "ApproximateTime": datetime.now(UTC),
            "TracesProcessedCount": processed,
        }
        if offset + PAGE_SIZE < len(matched):
            answer["NextToken"] = str(offset + PAGE_SIZE)
        return answer

    @handler("BatchGetTraces", expand=False)
    def batch_get_traces(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ids = list(request.get("TraceIds") or [])
        if not ids:
            raise _invalid("TraceIds must hold at least one trace id")
        if len(ids) > MAX_BATCH_TRACE_IDS:
            raise _invalid(f"TraceIds holds {len(ids)} ids; at most {MAX_BATCH_TRACE_IDS}")
        traces, unprocessed = [], []
        for trace_id in ids:
            trace = STORE.get(trace_id)
            if trace is None:
                unprocessed.append(trace_id)
                continue
            traces.append(
                {
                    "Id": trace.id,
                    "Duration": round(trace.end - trace.start, 3),
                    "LimitExceeded": False,
                    "Segments": [
                        {"Id": document["id"], "Document": json.dumps(document)}
                        for document in trace.documents()
                    ],
                }
            )
        return {"Traces": traces, "UnprocessedTraceIds": unprocessed}

    @handler("GetServiceGraph", expand=False)
    def get_service_graph(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        start = _epoch(request.get("StartTime"), "StartTime")
        end = _epoch(request.get("EndTime"), "EndTime")
        traces = [t for t in STORE.traces() if _in_window(t, "Event", start, end) is not None]
        return {
            "StartTime": datetime.fromtimestamp(start, UTC),
            "EndTime": datetime.fromtimestamp(end, UTC),
            "Services": _dated(graph.services(traces)),
            "ContainsOldGroupVersions": False,
        }

    @handler("GetTraceGraph", expand=False)
    def get_trace_graph(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        traces = [t for i in request.get("TraceIds") or [] if (t := STORE.get(i)) is not None]
        return {"Services": _dated(graph.services(traces))}

    # --- sampling -----------------------------------------------------------------------------

    @handler("GetSamplingRules", expand=False)
    def get_sampling_rules(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return {"SamplingRuleRecords": SAMPLER.records()}

    @handler("CreateSamplingRule", expand=False)
    def create_sampling_rule(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return {"SamplingRuleRecord": SAMPLER.create(request.get("SamplingRule") or {})}
        except RuleLimitExceeded as error:
            raise CommonServiceException(
                "RuleLimitExceededException", str(error), 400, sender_fault=True
            ) from None
        except SamplingError as error:
            raise _invalid(str(error)) from None

    @handler("UpdateSamplingRule", expand=False)
    def update_sampling_rule(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return {"SamplingRuleRecord": SAMPLER.update(request.get("SamplingRuleUpdate") or {})}
        except SamplingError as error:
            raise _invalid(str(error)) from None

    @handler("DeleteSamplingRule", expand=False)
    def delete_sampling_rule(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        if not request.get("RuleName") and not request.get("RuleARN"):
            raise _invalid("RuleName or RuleARN is required")
        try:
            return {
                "SamplingRuleRecord": SAMPLER.delete(
                    request.get("RuleName"), request.get("RuleARN")
                )
            }
        except SamplingError as error:
            raise _invalid(str(error)) from None

    @handler("GetSamplingTargets", expand=False)
    def get_sampling_targets(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        targets, unprocessed = SAMPLER.targets(request.get("SamplingStatisticsDocuments") or [])
        return {
            "SamplingTargetDocuments": targets,
            "LastRuleModification": SAMPLER.last_modification,
            "UnprocessedStatistics": unprocessed,
        }


def _dated(services: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Epoch seconds to datetimes, for the API's timestamp fields."""
    found = []
    for node in services:
        service = dict(node)
        for key in ("StartTime", "EndTime"):
            if key in service:
                service[key] = datetime.fromtimestamp(service[key], UTC)
        service["Edges"] = [
            {
                **edge,
                **{
                    key: datetime.fromtimestamp(edge[key], UTC)
                    for key in ("StartTime", "EndTime")
                    if key in edge
                },
            }
            for edge in service.get("Edges", [])
        ]
        found.append(service)
    return found


@aws_provider(api="xray")
def xray_provider() -> Service:
    return Service.for_provider(XRayProvider())
