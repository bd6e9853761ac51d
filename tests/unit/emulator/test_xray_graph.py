"""The service graph of the kit's X-Ray API (orderflow_hostexec/xray/graph.py)."""

from __future__ import annotations

from orderflow_hostexec.xray import graph, segments
from orderflow_hostexec.xray.store import TraceStore

TRACE = "1-6b0e7a0a-3e0e1bcc696cabec6f9fe8ea"
T0 = 1_796_110_858.0


def test_the_graph_has_a_node_per_service_and_an_edge_per_call() -> None:
    store = TraceStore(max_traces=5)
    store.put(
        segments.api_gateway_segment(
            trace_id=TRACE,
            segment_id="a" * 16,
            upstream_parent=None,
            name="orderflow-dev-api/prod",
            api_id="abc",
            stage="prod",
            account_id="000000000000",
            region="us-east-1",
            request_id="r",
            url="http://x/prod/orders",
            method="POST",
            user_agent="",
            client_ip="",
            status=202,
            start=T0,
            end=T0 + 1,
            integration_id="b" * 16,
            integration_type="AWS_PROXY",
            integration_uri="arn:aws:lambda",
            integration_start=T0,
            integration_end=T0 + 1,
        )
    )
    for document in segments.lambda_segments(
        trace_id=TRACE,
        upstream_parent="b" * 16,
        service_id="c" * 16,
        function_id="d" * 16,
        function_name="PlaceOrder",
        function_arn="arn:fn",
        account_id="000000000000",
        region="us-east-1",
        request_id="q",
        start=T0 + 0.1,
        end=T0 + 0.9,
        error=None,
    ):
        store.put(document)
    store.put(
        {
            "type": "subsegment",
            "trace_id": TRACE,
            "parent_id": "d" * 16,
            "id": "e" * 16,
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": T0 + 0.2,
            "end_time": T0 + 0.3,
            "error": True,
        }
    )
    trace = store.get(TRACE)
    assert trace is not None

    nodes = {(n["Name"], n["Type"]): n for n in graph.services([trace])}

    stage = nodes[("orderflow-dev-api/prod", "AWS::ApiGateway::Stage")]
    service = nodes[("PlaceOrder", "AWS::Lambda")]
    function = nodes[("PlaceOrder", "AWS::Lambda::Function")]
    table = nodes[("DynamoDB", "AWS::DynamoDB::Table")]
    # the stage's integration call is the edge to the function's service segment, no node
    assert len(nodes) == 4
    assert [e["ReferenceId"] for e in stage["Edges"]] == [service["ReferenceId"]]
    assert [e["ReferenceId"] for e in service["Edges"]] == [function["ReferenceId"]]
    [call] = function["Edges"]
    assert call["ReferenceId"] == table["ReferenceId"]
    assert call["SummaryStatistics"]["ErrorStatistics"]["TotalCount"] == 1
    assert stage["Root"] and not function["Root"]
