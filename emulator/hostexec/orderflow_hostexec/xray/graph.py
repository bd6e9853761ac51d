"""The service graph of some traces (``GetServiceGraph``, ``GetTraceGraph``): a node per
service (segments by name and origin; downstream calls, subsegments of namespace ``aws`` or
``remote``, by name), an edge per call, with request counts and response times. Times are
epoch seconds here; the provider turns them into timestamps. Standard library only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orderflow_hostexec.xray.store import Entity, Trace

Key = tuple[str, str]  # (name, type)


def _stats() -> dict[str, Any]:
    return {
        "OkCount": 0,
        "ErrorStatistics": {"ThrottleCount": 0, "OtherCount": 0, "TotalCount": 0},
        "FaultStatistics": {"OtherCount": 0, "TotalCount": 0},
        "TotalCount": 0,
        "TotalResponseTime": 0.0,
    }


def _count(stats: dict[str, Any], entity: Entity) -> None:
    doc = entity.document
    stats["TotalCount"] += 1
    stats["TotalResponseTime"] = round(stats["TotalResponseTime"] + entity.end - entity.start, 6)
    if doc.get("fault"):
        stats["FaultStatistics"]["OtherCount"] += 1
        stats["FaultStatistics"]["TotalCount"] += 1
    elif doc.get("throttle"):
        stats["ErrorStatistics"]["ThrottleCount"] += 1
        stats["ErrorStatistics"]["TotalCount"] += 1
    elif doc.get("error"):
        stats["ErrorStatistics"]["OtherCount"] += 1
        stats["ErrorStatistics"]["TotalCount"] += 1
    else:
        stats["OkCount"] += 1


def _key(entity: Entity) -> Key:
    doc = entity.document
    if entity.segment:
        return doc["name"], doc.get("origin") or "client"
    namespace = doc.get("namespace")
    return doc["name"], f"AWS::{doc['name']}" if namespace == "aws" else "remote"


def services(traces: Iterable[Trace]) -> list[dict[str, Any]]:
    nodes: dict[Key, dict[str, Any]] = {}
    edges: dict[tuple[Key, Key], dict[str, Any]] = {}
    has_caller: set[Key] = set()

    def node(key: Key, entity: Entity) -> dict[str, Any]:
        found = nodes.get(key)
        if found is None:
            found = nodes[key] = {
                "ReferenceId": len(nodes),
                "Name": key[0],
                "Names": [key[0]],
                "Type": key[1],
                "State": "active",
                "StartTime": entity.start,
                "EndTime": entity.end,
                "SummaryStatistics": _stats(),
            }
        found["StartTime"] = min(found["StartTime"], entity.start)
        found["EndTime"] = max(found["EndTime"], entity.end)
        return found

    def edge(caller: Key, callee: Key, entity: Entity) -> None:
        found = edges.get((caller, callee))
        if found is None:
            found = edges[(caller, callee)] = {
                "StartTime": entity.start,
                "EndTime": entity.end,
                "SummaryStatistics": _stats(),
            }
        found["StartTime"] = min(found["StartTime"], entity.start)
        found["EndTime"] = max(found["EndTime"], entity.end)
        _count(found["SummaryStatistics"], entity)
        has_caller.add(callee)

    for trace in traces:

        def owning(entity_id: str | None, trace: Trace = trace) -> Entity | None:
            seen = set()
            while entity_id and entity_id not in seen:
                seen.add(entity_id)
                found = trace.entities.get(entity_id)
                if found is None:
                    return None
                if found.segment:
                    return found
                entity_id = found.parent
            return None

        for entity in trace.entities.values():
            if entity.segment:
                _count(node(_key(entity), entity)["SummaryStatistics"], entity)
                caller = owning(entity.parent)
                if caller is not None:
                    edge(_key(caller), _key(entity), entity)
            elif entity.document.get("namespace") in ("aws", "remote"):
                segment = owning(entity.parent)
                if segment is not None:
                    node(_key(entity), entity)
                    edge(_key(segment), _key(entity), entity)
    for (caller, callee), found in edges.items():
        nodes[caller].setdefault("Edges", []).append(
            {"ReferenceId": nodes[callee]["ReferenceId"], **found}
        )
    for key, found in nodes.items():
        found["Root"] = key not in has_caller
        found.setdefault("Edges", [])
    return list(nodes.values())
