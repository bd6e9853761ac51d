"""The segment documents AWS's own services contribute to a trace, shaped as AWS shapes them
(names, origins, parent links). Pure functions; the hooks (``hooks.py``) call them with what
they saw. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderflow_hostexec.xray.header import new_segment_id


def _cause(error: dict[str, str]) -> dict[str, Any]:
    return {
        "exceptions": [{"id": new_segment_id(), "message": error["message"], "type": error["type"]}]
    }


def lambda_segments(
    *,
    trace_id: str,
    upstream_parent: str | None,
    service_id: str,
    function_id: str,
    function_name: str,
    function_arn: str,
    account_id: str,
    region: str,
    request_id: str,
    start: float,
    end: float,
    error: dict[str, str] | None,
) -> list[dict[str, Any]]:
    """An invocation's ``AWS::Lambda`` service segment (under the caller's segment, if any)
    and its ``AWS::Lambda::Function`` segment (under the service segment; its id is the
    ``Parent`` the runtime got, so the SDK's subsegments hang under it). An error the
    function raised marks the function segment with a fault and its cause."""
    service: dict[str, Any] = {
        "id": service_id,
        "trace_id": trace_id,
        "name": function_name,
        "origin": "AWS::Lambda",
        "start_time": start,
        "end_time": end,
        "resource_arn": function_arn,
        "http": {"response": {"status": 200}},
        "aws": {"request_id": request_id, "account_id": account_id, "region": region},
    }
    if upstream_parent:
        service["parent_id"] = upstream_parent
    function: dict[str, Any] = {
        "id": function_id,
        "trace_id": trace_id,
        "parent_id": service_id,
        "name": function_name,
        "origin": "AWS::Lambda::Function",
        "start_time": start,
        "end_time": end,
        "resource_arn": function_arn,
        "aws": {
            "account_id": account_id,
            "function_arn": function_arn,
            "resource_names": [function_name],
        },
        "subsegments": [
            {"id": new_segment_id(), "name": "Invocation", "start_time": start, "end_time": end}
        ],
    }
    if error:
        function["fault"] = True
        function["cause"] = _cause(error)
        function["subsegments"][0] |= {"fault": True, "cause": _cause(error)}
    return [service, function]


def api_gateway_segment(
    *,
    trace_id: str,
    segment_id: str,
    upstream_parent: str | None,
    name: str,
    api_id: str,
    stage: str,
    account_id: str,
    region: str,
    request_id: str,
    url: str,
    method: str,
    user_agent: str,
    client_ip: str,
    status: int,
    start: float,
    end: float,
    integration_id: str,
    integration_type: str,
    integration_uri: str,
    integration_start: float | None,
    integration_end: float | None,
) -> dict[str, Any]:
    """A REST API stage's ``AWS::ApiGateway::Stage`` segment, named ``<api name>/<stage>``,
    with the request and response, and a subsegment for the integration call (the Parent of
    what the integration does: a Lambda function's service segment)."""
    segment: dict[str, Any] = {
        "id": segment_id,
        "trace_id": trace_id,
        "name": name,
        "origin": "AWS::ApiGateway::Stage",
        "start_time": start,
        "end_time": end,
        "resource_arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}",
        "http": {
            "request": {
                "url": url,
                "method": method,
                "user_agent": user_agent,
                "client_ip": client_ip,
                "x_forwarded_for": True,
            },
            "response": {"status": status},
        },
        "aws": {
            "api_gateway": {
                "account_id": account_id,
                "rest_api_id": api_id,
                "stage": stage,
                "request_id": request_id,
            }
        },
        "annotations": {"aws:api_id": api_id, "aws:api_stage": stage},
    }
    if upstream_parent:
        segment["parent_id"] = upstream_parent
    if status == 429:
        segment["throttle"] = segment["error"] = True
    elif status >= 500:
        segment["fault"] = True
    elif status >= 400:
        segment["error"] = True
    if integration_start is not None:
        lambda_call = integration_type == "AWS_PROXY" or ":lambda:" in integration_uri
        call: dict[str, Any] = {
            "id": integration_id,
            "name": "Lambda" if lambda_call else integration_type or "Integration",
            "namespace": "aws" if lambda_call else "remote",
            "start_time": integration_start,
            "end_time": integration_end or end,
            "http": {"response": {"status": 200 if status < 500 else status}},
        }
        if lambda_call:
            call["aws"] = {"operation": "Invoke", "function_name": integration_uri}
        if status >= 500:
            call["fault"] = True
        segment["subsegments"] = [call]
    return segment


@dataclass
class TaskCall:
    """A Lambda invocation a state of an execution made (one per attempt)."""

    id: str  # its subsegment; the Parent the function's trace continues from
    state: str
    function: str
    start: float
    end: float = 0.0
    error: str | None = None


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def state_machine_segment(
    *,
    trace_id: str,
    segment_id: str,
    upstream_parent: str | None,
    name: str,
    execution_arn: str,
    state_machine_arn: str,
    start: float,
    end: float,
    status: str,
    history: list[dict[str, Any]],
    calls: list[TaskCall],
) -> dict[str, Any]:
    """An execution's ``AWS::StepFunctions::StateMachine`` segment, a subsegment per state
    entered (from the execution's history), and under a task state a ``Lambda`` subsegment
    per invocation attempt (retries show as several)."""
    states = _states(history, start, end)
    _attach(states, calls)
    segment: dict[str, Any] = {
        "id": segment_id,
        "trace_id": trace_id,
        "name": name,
        "origin": "AWS::StepFunctions::StateMachine",
        "start_time": start,
        "end_time": max(end, start),
        "resource_arn": execution_arn,
        "aws": {"execution_arn": execution_arn, "state_machine_arn": state_machine_arn},
        "subsegments": states,
    }
    if upstream_parent:
        segment["parent_id"] = upstream_parent
    if status in ("FAILED", "TIMED_OUT"):
        segment["fault"] = True
    elif status == "ABORTED":
        segment["error"] = True
    return segment


def _states(history: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """A subsegment per state entered, from the execution's history events."""
    states: list[dict[str, Any]] = []
    open_states: dict[str, list[dict[str, Any]]] = {}
    for event in history:
        kind = str(event.get("type", ""))
        at = _epoch(event.get("timestamp", start))
        if kind.endswith("StateEntered"):
            state_name = (event.get("stateEnteredEventDetails") or {}).get("name", "")
            state: dict[str, Any] = {
                "id": new_segment_id(),
                "name": state_name,
                "start_time": at,
                "end_time": at,
                "in_progress": True,
            }
            states.append(state)
            open_states.setdefault(state_name, []).append(state)
        elif kind.endswith("StateExited"):
            state_name = (event.get("stateExitedEventDetails") or {}).get("name", "")
            if open_states.get(state_name):
                state = open_states[state_name].pop()
                state["end_time"] = at
                state.pop("in_progress", None)
        elif kind.endswith(("Failed", "TimedOut")) and kind not in (
            "ExecutionFailed",
            "ExecutionTimedOut",
        ):
            for opened in open_states.values():
                if opened:
                    opened[-1]["error"] = True
    for state in states:  # still open when the execution ended (failed, aborted)
        if state.pop("in_progress", None):
            state["end_time"] = end
    return states


def _attach(states: list[dict[str, Any]], calls: list[TaskCall]) -> None:
    """Each Lambda invocation under the state (entered last before it) that made it."""
    for call in calls:
        owner = next(
            (
                s
                for s in reversed(states)
                if s["name"] == call.state and s["start_time"] <= call.start + 0.001
            ),
            None,
        )
        subsegment: dict[str, Any] = {
            "id": call.id,
            "name": "Lambda",
            "namespace": "aws",
            "start_time": call.start,
            "end_time": max(call.end, call.start),
            "aws": {"operation": "Invoke", "function_name": call.function},
        }
        if call.error:
            subsegment["fault"] = True
            subsegment["cause"] = {
                "exceptions": [{"id": new_segment_id(), "type": call.error, "message": ""}]
            }
        if owner is None:
            continue
        owner.setdefault("subsegments", []).append(subsegment)
