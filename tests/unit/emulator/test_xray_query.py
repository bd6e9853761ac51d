"""Trace summaries and the filter-expression subset of the kit's X-Ray API
(orderflow_hostexec/xray/query.py)."""

from __future__ import annotations

from typing import Any

import pytest

from orderflow_hostexec.xray.query import Summary, UnsupportedFilter, parse_filter
from orderflow_hostexec.xray.store import TraceStore

TRACE = "1-6b0e7a0a-3e0e1bcc696cabec6f9fe8ea"
T0 = 1_796_110_858.0


def order_trace(**root_fields: Any) -> Summary:
    """An API Gateway stage that took 0.4 s, and a function that recorded order_id."""
    store = TraceStore(max_traces=10)
    store.put(
        {
            "trace_id": TRACE,
            "id": "a" * 16,
            "name": "orderflow-dev-api/prod",
            "origin": "AWS::ApiGateway::Stage",
            "start_time": T0,
            "end_time": T0 + 0.4,
            "http": {
                "request": {"method": "POST", "url": "http://x/prod/orders"},
                "response": {"status": 201},
            },
            **root_fields,
        }
    )
    store.put(
        {
            "trace_id": TRACE,
            "id": "b" * 16,
            "parent_id": "a" * 16,
            "name": "PlaceOrder",
            "origin": "AWS::Lambda::Function",
            "start_time": T0 + 0.1,
            "end_time": T0 + 2.5,
            "subsegments": [
                {
                    "id": "c" * 16,
                    "name": "## handler",
                    "start_time": T0 + 0.1,
                    "end_time": T0 + 0.3,
                    "annotations": {"order_id": "o-1", "items": 2, "cold": True},
                }
            ],
        }
    )
    trace = store.get(TRACE)
    assert trace is not None
    return Summary.of(trace)


def matches(expression: str, summary: Summary | None = None) -> bool:
    return parse_filter(expression)(summary or order_trace())


def test_the_summary_is_what_aws_returns_for_the_trace() -> None:
    api = order_trace().to_api()
    assert api["Id"] == TRACE
    assert api["ResponseTime"] == 0.4  # the root segment's (the stage's)
    assert api["Duration"] == 2.5  # the whole trace's
    assert api["Http"] == {
        "HttpURL": "http://x/prod/orders",
        "HttpMethod": "POST",
        "HttpStatus": 201,
    }
    assert api["EntryPoint"]["Name"] == "orderflow-dev-api/prod"
    assert [s["Name"] for s in api["ServiceIds"]] == ["orderflow-dev-api/prod", "PlaceOrder"]
    assert api["Annotations"]["order_id"] == [
        {"AnnotationValue": {"StringValue": "o-1"}, "ServiceIds": []}
    ]
    assert api["Annotations"]["items"][0]["AnnotationValue"] == {"NumberValue": 2.0}
    assert not api["HasFault"] and not api["HasError"] and not api["IsPartial"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('annotation.order_id = "o-1"', True),
        ('annotation.order_id = "o-2"', False),
        ('annotation[order_id] = "o-1"', True),
        ('annotation.order_id != "o-2"', True),
        ("annotation.items >= 2", True),
        ("annotation.items > 2", False),
        ("annotation.cold = true", True),
        ('annotation.missing = "x"', False),
        ('service("PlaceOrder")', True),
        ('service("ShipOrder")', False),
        ("ok", True),
        ("error", False),
        ("fault", False),
        ("responsetime > 0.3", True),
        ("responsetime > 0.5", False),
        ("duration >= 2.5", True),
        ("http.status = 201", True),
        ('http.method = "GET"', False),
        ('annotation.order_id = "o-1" AND service("PlaceOrder") AND responsetime < 1', True),
        ('annotation.order_id = "o-1" and service("ShipOrder")', False),
        ("", True),
    ],
)
def test_the_filter_subset_selects_as_x_ray_does(expression: str, expected: bool) -> None:
    assert matches(expression) is expected


def test_error_and_fault_are_the_segments_flags() -> None:
    failed = order_trace(fault=True)
    assert matches("fault", failed)
    assert not matches("error", failed)
    assert not matches("ok", failed)
    assert failed.to_api()["HasFault"]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ('service("a") OR service("b")', "only predicates joined by AND"),
        ('(service("a"))', "not supported"),
        ('service(id(name: "a"))', "quoted name"),
        ("edge(a, b)", "not in the emulator's filter subset"),
        ("responsetime > fast", "expected a value"),
        ("error = true", "alone"),
        ('annotation.order_id = "o-1" AND', "expected"),
        ('responsetime > "1"', "number of seconds"),
    ],
)
def test_what_the_emulator_does_not_evaluate_is_refused_with_a_reason(
    expression: str, reason: str
) -> None:
    with pytest.raises(UnsupportedFilter, match=reason):
        parse_filter(expression)
