"""One order's X-Ray trace as AWS and the app send it: the documents of every segment.

``POST /orders`` through API Gateway's stage to PlaceOrder (Lambda's service and function
segments, the SDK's handler subsegment sent on its own, DynamoDB calls, one retried by the
SDK); the outbox relay's per-record segment, parented to the write that stored the record,
publishing to EventBridge (throttled once, then again); the saga's state machine started by
that event, its tasks invoking ReserveInventory, AuthorizePayment (a fault, retried by the
state machine), ScheduleShipment (SQS to the shipping worker, which answers with
SendTaskSuccess) and ConfirmOrder (a DynamoDB conditional check failing: an error); the
projector's per-record segment. Times are offsets in seconds from the trace's start.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

ORDER_ID = "ord-7f3a9c"
CORRELATION_ID = "corr-5b21"
API = "orderflow-api/prod"


@dataclass
class Fixture:
    start: float
    trace_id: str
    documents: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """A readable key per span -> its X-Ray id."""

    def json_documents(self) -> list[str]:
        return [json.dumps(document) for document in self.documents]


def trace_id_at(epoch: float) -> str:
    return f"1-{int(epoch):08x}-{secrets.token_hex(12)}"


def order_trace(start: float, order_id: str = ORDER_ID) -> Fixture:
    fx = Fixture(start=start, trace_id=trace_id_at(start))
    annotations = {
        "order_id": order_id,
        "correlation_id": CORRELATION_ID,
        "ColdStart": False,
        "Service": "orders",
    }

    def span(key: str, name: str, lo: float, hi: float, **extra: Any) -> dict[str, Any]:
        fx.ids[key] = secrets.token_hex(8)
        return {
            "id": fx.ids[key],
            "name": name,
            "start_time": round(start + lo, 6),
            "end_time": round(start + hi, 6),
            **extra,
        }

    def document(
        key: str, name: str, lo: float, hi: float, parent: str | None, **extra: Any
    ) -> dict[str, Any]:
        doc = span(key, name, lo, hi, trace_id=fx.trace_id, **extra)
        if parent is not None:
            doc["parent_id"] = fx.ids[parent]
        fx.documents.append(doc)
        return doc

    def call(key: str, service: str, operation: str, lo: float, hi: float, **extra: Any) -> Any:
        aws = {"operation": operation, "request_id": secrets.token_hex(8), **extra.pop("aws", {})}
        return span(key, service, lo, hi, namespace="aws", aws=aws, **extra)

    def function(
        key: str,
        name: str,
        window: tuple[float, float],
        parent: str,
        calls: list[dict[str, Any]],
        **failure: Any,
    ) -> None:
        """Lambda's service segment, its function segment, the SDK's handler subsegment (a
        document of its own) holding the calls."""
        lo, hi = window
        document(f"{key}.lambda", name, lo, hi, parent, origin="AWS::Lambda", **failure)
        function_doc = document(
            f"{key}.function", name, lo + 0.01, hi - 0.005, f"{key}.lambda",
            origin="AWS::Lambda::Function", **failure,
        )  # fmt: skip
        function_doc["subsegments"] = [
            span(f"{key}.invocation", "Invocation", lo + 0.01, hi - 0.015),
            span(f"{key}.overhead", "Overhead", hi - 0.015, hi - 0.005),
        ]
        document(
            f"{key}.handler", "## lambda_handler", lo + 0.012, hi - 0.02, f"{key}.function",
            type="subsegment", annotations=annotations, subsegments=calls, **failure,
        )  # fmt: skip

    # API Gateway's stage -> PlaceOrder
    document(
        "api", API, 0.0, 0.48, None, origin="AWS::ApiGateway::Stage",
        http={"request": {"method": "POST", "url": "https://abc.execute-api.us-east-1."
                          "amazonaws.com/prod/orders"}, "response": {"status": 201}},
        aws={"api_id": "abc", "stage": "prod"},
    )  # fmt: skip
    fx.documents[-1]["subsegments"] = [call("api.invoke", "Lambda", "Invoke", 0.004, 0.476)]
    function(
        "place",
        "Orderflow-PlaceOrder",
        (0.006, 0.474),
        "api.invoke",
        [
            call("place.get", "DynamoDB", "GetItem", 0.04, 0.06, aws={"table_name": "orders"}),
            call(
                "place.write", "DynamoDB", "TransactWriteItems", 0.07, 0.2,
                aws={"table_name": "orders", "retries": 1},
            ),
        ],
    )  # fmt: skip
    # the relay's per-record segment (the record kept the request's trace header)
    relay = document(
        "relay", "Orderflow-OutboxRelay", 0.6, 0.76, "place.write",
        origin="AWS::Lambda::Function", annotations=annotations,
    )  # fmt: skip
    relay["subsegments"] = [
        call(
            "relay.put1", "EventBridge", "PutEvents", 0.61, 0.7, throttle=True, error=True,
            http={"response": {"status": 400}},
            cause={"exceptions": [{"id": "e1", "type": "ThrottlingException",
                                   "message": "Rate exceeded"}]},
        ),
        call("relay.put2", "EventBridge", "PutEvents", 0.71, 0.75),
    ]  # fmt: skip
    # the saga and the projector, both delivered from the second PutEvents
    saga = document(
        "saga", "Orderflow-Saga", 0.8, 2.6, "relay.put2",
        origin="AWS::StepFunctions::StateMachine",
    )  # fmt: skip
    saga["subsegments"] = [
        {**span("reserve", "ReserveInventory", 0.81, 1.1),
         "subsegments": [call("reserve.invoke", "Lambda", "Invoke", 0.815, 1.095)]},
        {**span("authorize", "AuthorizePayment", 1.11, 1.9),
         "subsegments": [
             call("authorize.invoke1", "Lambda", "Invoke", 1.115, 1.3, fault=True),
             call("authorize.invoke2", "Lambda", "Invoke", 1.6, 1.89)]},
        {**span("schedule", "ScheduleShipment", 1.91, 2.4),
         "subsegments": [call("schedule.send", "SQS", "SendMessage", 1.915, 1.94)]},
        {**span("confirm", "ConfirmOrder", 2.41, 2.59),
         "subsegments": [call("confirm.invoke", "Lambda", "Invoke", 2.415, 2.585)]},
    ]  # fmt: skip
    function(
        "reserve-fn", "Orderflow-ReserveInventory", (0.82, 1.09), "reserve.invoke",
        [call("reserve.update", "DynamoDB", "UpdateItem", 0.9, 0.95, aws={"table_name": "inv"})],
    )  # fmt: skip
    unavailable = {
        "fault": True,
        "cause": {"exceptions": [{"type": "PaymentProviderUnavailable", "message": "timeout"}]},
    }
    function("authorize-1", "Orderflow-AuthorizePayment", (1.12, 1.295), "authorize.invoke1", [],
             **unavailable)  # fmt: skip
    function("authorize-2", "Orderflow-AuthorizePayment", (1.62, 1.885), "authorize.invoke2", [])
    function(
        "ship", "Orderflow-ShippingWorker", (1.95, 2.38), "schedule.send",
        [call("ship.done", "SFN", "SendTaskSuccess", 2.3, 2.33)],
    )  # fmt: skip
    function(
        "confirm-fn", "Orderflow-ConfirmOrder", (2.42, 2.58), "confirm.invoke",
        [call("confirm.update", "DynamoDB", "UpdateItem", 2.45, 2.47, error=True,
              http={"response": {"status": 400}}, aws={"table_name": "orders"},
              cause={"exceptions": [{"type": "ConditionalCheckFailedException",
                                     "message": "The conditional request failed"}]})],
    )  # fmt: skip
    projector = document(
        "projector", "Orderflow-Projector", 0.9, 1.0, "relay.put2",
        origin="AWS::Lambda::Function", annotations=annotations,
    )  # fmt: skip
    projector["subsegments"] = [
        call("projector.write", "DynamoDB", "TransactWriteItems", 0.92, 0.98,
             aws={"table_name": "orders"}),
    ]  # fmt: skip
    return fx


# --- the stack the functions belong to (what ``orderflow_cli.names`` reads their names from) ---

STACK = "Orderflow"
ROLE = "LambdaRole"
FUNCTION_TAGS = {
    "Orderflow-PlaceOrder": ("orders", "place-order"),
    "Orderflow-OutboxRelay": ("orders", "outbox-relay"),
    "Orderflow-ReserveInventory": ("inventory", "reserve-inventory"),
    "Orderflow-AuthorizePayment": ("payments", "authorize-payment"),
    "Orderflow-ShippingWorker": ("shipping", "schedule-shipment"),
    "Orderflow-ConfirmOrder": ("orders", "confirm-order"),
}
"""The trace's functions as the stack tags them (``infra/lambda_defaults.py``); the projector
is left out: another stack's function, whose name is not resolved."""
ROLE_RESOURCE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}


def function_resource(name: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A function as the CDK app synthesises it: its tags in the template."""
    properties: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "Role": {"Fn::GetAtt": [ROLE, "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
    }
    if tags:
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def tags_of(service: str, function: str) -> dict[str, str]:
    return {"orderflow:service": service, "orderflow:function": function}


def stack_template(functions: dict[str, tuple[str, str]] = FUNCTION_TAGS) -> dict[str, Any]:
    """The trace's functions, tagged, and its state machine (untagged, as the app's saga)."""
    resources: dict[str, Any] = {ROLE: ROLE_RESOURCE}
    for number, (name, (service, function)) in enumerate(sorted(functions.items())):
        resources[f"Function{number}"] = function_resource(name, tags_of(service, function))
    resources["Saga"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": "Orderflow-Saga",
            "DefinitionString": '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
            "RoleArn": "arn:aws:iam::123456789012:role/saga",
        },
    }
    return {"Resources": resources}
