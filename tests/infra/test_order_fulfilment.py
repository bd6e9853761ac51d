"""The order-fulfilment services in the synthesised template: the saga's states, retries and
compensations; the rules, queues and streams that feed the services; the seed."""

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.contracts import (
    InventoryBusy,
    MalformedEventError,
    OutOfStock,
    PaymentDeclined,
    ProviderUnavailable,
    PublishError,
    error_names,
)
from infra.inventory import load_products
from tests.infra.conftest import synth
from tests.infra.helpers import (
    arn_target,
    as_list,
    dead_letter_queue_ids,
    function_ids_by_handler,
    function_statements,
    matches_filter,
    render_join,
    resources,
    state_machine_definition,
)

FULFILMENT = "Fulfilment"
"""Logical ids of the fulfilment resources start with its construct id."""

STEPS = [
    "RecordOrder",
    "ReserveInventory",
    "AuthorizePayment",
    "ScheduleShipment",
    "ConfirmOrder",
    "CommitInventory",
]
COMPENSATIONS = ["VoidPayment", "ReleaseInventory", "CancelOrder"]

STEP_HANDLERS = {
    "RecordOrder": "orders.handlers.record_order.handler",
    "ReserveInventory": "inventory.handlers.reserve_inventory.handler",
    "AuthorizePayment": "payments.handlers.authorize_payment.handler",
    "ConfirmOrder": "orders.handlers.confirm_order.handler",
    "CommitInventory": "inventory.handlers.commit_inventory.handler",
    "VoidPayment": "payments.handlers.void_payment.handler",
    "ReleaseInventory": "inventory.handlers.release_inventory.handler",
    "CancelOrder": "orders.handlers.cancel_order.handler",
}

TRANSIENT_ERRORS = set(error_names(ProviderUnavailable, PublishError, InventoryBusy))
BUSINESS_ERRORS = set(error_names(OutOfStock, PaymentDeclined, MalformedEventError))

FULFILMENT_OUTPUTS = {
    "OrdersApiId",
    "OrdersApiUrl",
    "OrdersTableName",
    "ProductsTableName",
    "PaymentsTableName",
    "ShipmentsTableName",
    "NotificationsTableName",
    "AuditTableName",
    "SagaStateMachineArn",
    "OrderPlacedDlqUrl",
    "MalformedEventsQueueUrl",
    "ProjectionQueueUrl",
    "ProjectorDlqUrl",
    "CatalogueQueueUrl",
    "CatalogueDlqUrl",
    "OutboxDlqUrl",
    "ShipmentDlqUrl",
    "NotificationsDlqUrl",
    "AuditDlqUrl",
    "OrderOutcomesTopicArn",
}


@pytest.fixture(scope="module")
def saga(template: Template) -> dict[str, Any]:
    return state_machine_definition(template, FULFILMENT)


@pytest.fixture(scope="module")
def states(saga: dict[str, Any]) -> dict[str, Any]:
    states: dict[str, Any] = saga["States"]
    return states


def path_from(states: Mapping[str, Any], start: str) -> list[str]:
    """The names of the states from ``start`` following ``Next`` to the end."""
    names = [start]
    while "Next" in states[names[-1]]:
        names.append(states[names[-1]]["Next"])
    return names


def catches(state: Mapping[str, Any]) -> dict[str, str]:
    """Error name -> the state a Catch of ``state`` goes to."""
    return {error: c["Next"] for c in state.get("Catch", []) for error in c["ErrorEquals"]}


def output_ref(template: Template, name: str) -> str:
    """The logical id an output refers to (``Ref`` or ``Fn::GetAtt``)."""
    value = template.find_outputs(name)[name]["Value"]
    return value["Ref"] if "Ref" in value else arn_target(value)


# --- the saga's states ---


def test_the_happy_path_runs_every_step_in_order(saga: dict[str, Any], states: Any) -> None:
    assert saga["StartAt"] == "RecordOrder"
    forward = path_from(states, "RecordOrder")
    assert forward == [*STEPS[:3], "PaymentPending"]
    # an authorisation the provider confirms at once goes straight on to the shipment
    assert path_from(states, states["PaymentPending"]["Default"]) == [*STEPS[3:], "OrderFulfilled"]
    assert states["OrderFulfilled"]["Type"] == "Succeed"
    assert set(COMPENSATIONS) <= set(states)


def test_each_lambda_step_calls_its_handler_with_the_order(template: Template, states: Any) -> None:
    functions = function_ids_by_handler(template)
    for name, handler in STEP_HANDLERS.items():
        # payload_response_only: the state calls the function itself, not lambda:invoke
        assert states[name]["Resource"] == f"<{functions[handler]}.Arn>", name

    # RecordOrder gets the EventBridge event and the execution's id; every later step the
    # order it returned
    assert states["RecordOrder"]["Parameters"] == {
        "event.$": "$",
        "executionId.$": "$$.Execution.Id",
    }
    assert states["RecordOrder"]["ResultPath"] == "$.order"
    for name in ("ReserveInventory", "AuthorizePayment", "ConfirmOrder", "CommitInventory"):
        assert states[name]["InputPath"] == "$.order", name
        assert "Parameters" not in states[name], name


def test_results_accumulate_in_the_state_under_their_own_paths(states: Any) -> None:
    result_paths = {name: states[name]["ResultPath"] for name in [*STEPS, *COMPENSATIONS]}
    assert result_paths == {
        "RecordOrder": "$.order",
        "ReserveInventory": "$.reservation",
        "AuthorizePayment": "$.payment",
        "ScheduleShipment": "$.shipment",
        "ConfirmOrder": "$.outcome",
        "CommitInventory": "$.reservation",
        "VoidPayment": "$.payment",
        "ReleaseInventory": "$.reservation",
        "CancelOrder": "$.outcome",
    }


def test_schedule_shipment_sends_the_request_and_waits_for_the_task_token(
    template: Template, states: Any
) -> None:
    shipment = states["ScheduleShipment"]
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping", FULFILMENT).values()
        if m["Properties"]["FunctionName"]["Ref"]
        == function_ids_by_handler(template)["shipping.handlers.schedule_shipment.handler"]
    ]

    assert shipment["Resource"] == "arn:<AWS::Partition>:states:::sqs:sendMessage.waitForTaskToken"
    assert shipment["TimeoutSeconds"] == 60
    # the queue it writes to is the one the shipping worker consumes
    assert shipment["Parameters"]["QueueUrl"] == f"<{arn_target(mapping['EventSourceArn'])}>"
    assert shipment["Parameters"]["MessageBody"] == {
        "orderId.$": "$.order.orderId",
        "items.$": "$.order.items",
        "taskToken.$": "$$.Task.Token",
        "correlationId.$": "$.order.correlationId",
        "causationId.$": "$.order.causationId",
    }


def test_the_shipping_worker_may_answer_the_saga(template: Template) -> None:
    worker = function_ids_by_handler(template)["shipping.handlers.schedule_shipment.handler"]
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT)
    granted = {
        action
        for statement in function_statements(template, worker)
        if statement["Resource"] == {"Ref": machine}
        for action in statement["Action"]
    }
    assert "states:SendTaskSuccess" in granted


# --- retries ---


def test_forward_lambda_steps_retry_transient_errors_with_backoff_and_jitter(
    states: Any,
) -> None:
    transient_of = {
        "RecordOrder": set(),
        "ReserveInventory": {"InventoryBusy", "PublishError"},
        "AuthorizePayment": {"ProviderUnavailable", "PublishError"},
        "ConfirmOrder": set(),
        "CommitInventory": {"InventoryBusy"},
    }
    for name, transient in transient_of.items():
        [_throttle, retry] = states[name]["Retry"]
        assert set(retry["ErrorEquals"]) & TRANSIENT_ERRORS == transient, name
        assert "Lambda.ServiceException" in retry["ErrorEquals"], name
        # a function that timed out or crashed: the steps are idempotent, so retried
        assert {"Sandbox.Timedout", "Runtime.ExitError"} <= set(retry["ErrorEquals"]), name
        assert retry["BackoffRate"] == 2
        assert retry["JitterStrategy"] == "FULL"
        assert retry["MaxAttempts"] >= 3  # tok_flaky fails twice before it succeeds
        assert retry["MaxDelaySeconds"] >= retry["IntervalSeconds"]


def test_a_throttled_lambda_step_waits_for_a_slot_before_any_other_retrier(states: Any) -> None:
    # A bulkhead's refusal (reserved concurrency in use) is retried by its own retrier, first
    # (retriers are matched in order), with many short jittered waits: a burst waits for a
    # slot instead of spending the step's transient retries and cancelling the order
    lambda_tasks = {  # a Lambda task's Resource: its function's ARN, or lambda:invoke
        name: state
        for name, state in states.items()
        if state["Type"] == "Task"
        and (state["Resource"].endswith(".Arn>") or ":lambda:invoke" in state["Resource"])
    }
    assert set(lambda_tasks) >= {"AuthorizePayment", "VoidPayment", "RecordOrder"}
    for name, state in lambda_tasks.items():
        throttle, *others = state["Retry"]
        assert throttle["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        assert throttle["MaxAttempts"] >= 20, name
        assert throttle["MaxDelaySeconds"] <= 5 and throttle["JitterStrategy"] == "FULL", name
        # and no later retrier names it, so that no reader wonders which one applies
        assert all("Lambda.TooManyRequestsException" not in r["ErrorEquals"] for r in others)


def test_business_errors_are_never_retried(states: Any) -> None:
    retried = {
        error
        for state in states.values()
        for retry in state.get("Retry", [])
        if retry.get("MaxAttempts", 3) > 0
        for error in retry["ErrorEquals"]
    }
    assert retried & BUSINESS_ERRORS == set()


def test_compensations_are_retried_until_they_succeed(states: Any) -> None:
    for name in COMPENSATIONS:
        _throttle, *business, any_error = states[name]["Retry"]
        assert any_error["ErrorEquals"] == ["States.ALL"], name
        assert any_error["MaxAttempts"] >= 10
        assert any_error["BackoffRate"] == 2
        assert any_error["JitterStrategy"] == "FULL"
        # ...except when retrying cannot help: those fail the execution for a human
        assert all(retry["MaxAttempts"] == 0 for retry in business)


# --- compensation ---


@pytest.mark.parametrize(
    ("step", "error", "compensation"),
    [
        ("ReserveInventory", "OutOfStock", ["CancelOrder"]),
        ("ReserveInventory", "States.ALL", ["ReleaseInventory", "CancelOrder"]),
        ("AuthorizePayment", "PaymentDeclined", ["ReleaseInventory", "CancelOrder"]),
        ("AuthorizePayment", "States.ALL", COMPENSATIONS),
        ("ScheduleShipment", "States.ALL", COMPENSATIONS),
        ("ConfirmOrder", "States.ALL", COMPENSATIONS),
    ],
)
def test_a_failed_step_undoes_the_steps_before_it_in_reverse_order(
    states: Any, step: str, error: str, compensation: list[str]
) -> None:
    # Given the step fails with the error, When the Catch fires, Then the state keeps the
    # error at $.error and runs the compensations, ending in a handled (Succeed) cancellation
    target = catches(states[step])[error]
    assert path_from(states, target) == [*compensation, "OrderCancelled"]
    assert all(c["ResultPath"] == "$.error" for c in states[step]["Catch"])
    assert states["OrderCancelled"]["Type"] == "Succeed"


def test_business_catches_come_before_the_catch_all(states: Any) -> None:
    for name in ("ReserveInventory", "AuthorizePayment"):
        errors = [c["ErrorEquals"] for c in states[name]["Catch"]]
        assert errors[-1] == ["States.ALL"]
        assert len(errors) == 2


def test_cancel_order_is_given_the_caught_error_to_derive_its_reason(states: Any) -> None:
    assert states["CancelOrder"]["Parameters"] == {
        "orderId.$": "$.order.orderId",
        "correlationId.$": "$.order.correlationId",
        "causationId.$": "$.order.causationId",
        "error.$": "$.error",
    }
    for name in ("VoidPayment", "ReleaseInventory"):
        assert states[name]["InputPath"] == "$.order"


def test_a_malformed_order_placed_ends_in_a_queue_with_its_reason(
    template: Template, states: Any
) -> None:
    report = catches(states["RecordOrder"])["MalformedEventError"]
    assert path_from(states, report) == ["ReportMalformedEvent", "MalformedEvent"]
    assert states["MalformedEvent"] == {
        "Type": "Fail",
        "Error": "MalformedEvent",
        "Cause": states["MalformedEvent"]["Cause"],
    }
    parameters = states["ReportMalformedEvent"]["Parameters"]
    assert parameters["QueueUrl"] == f"<{output_ref(template, 'MalformedEventsQueueUrl')}>"
    assert parameters["MessageBody"] == {
        "error.$": "$.error.Error",
        "reason.$": "$.error.Cause",
        "event.$": "$$.Execution.Input",
    }
    # RecordOrder catches nothing else but a duplicate start: no other step is reached from it
    # but by Next
    assert set(catches(states["RecordOrder"])) == {"MalformedEventError", "SagaAlreadyStarted"}


def test_a_second_execution_for_the_same_order_stops_before_any_step(states: Any) -> None:
    # RecordOrder claims the order's saga; a duplicate OrderPlaced's execution ends there
    duplicate = catches(states["RecordOrder"])["SagaAlreadyStarted"]
    assert states[duplicate]["Type"] == "Succeed"
    retried = {
        error for retrier in states["RecordOrder"]["Retry"] for error in retrier["ErrorEquals"]
    }
    assert "SagaAlreadyStarted" not in retried and "States.ALL" not in retried


def test_saga_is_standard_traced_and_logged(template: Template) -> None:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT).values()
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ERROR"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    [destination] = properties["LoggingConfiguration"]["Destinations"]
    log_group = arn_target(destination["CloudWatchLogsLogGroup"]["LogGroupArn"])
    assert log_group in resources(template, "AWS::Logs::LogGroup", FULFILMENT)


def test_prod_logs_saga_errors_without_execution_data() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT).values()
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ERROR"
    assert machine["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is False


# --- rules, queues, streams ---


def test_order_placed_starts_the_saga_with_the_whole_event_and_a_dlq(template: Template) -> None:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT)
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["OrderPlaced"]
    ]
    [target] = rule["Targets"]

    assert rule["EventPattern"] == {"source": ["orderflow.orders"], "detail-type": ["OrderPlaced"]}
    assert target["Arn"] == {"Ref": machine}
    assert "Input" not in target and "InputPath" not in target
    assert arn_target(target["DeadLetterConfig"]["Arn"]) == output_ref(
        template, "OrderPlacedDlqUrl"
    )
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_every_rule_target_has_a_dlq_and_a_retry_policy(template: Template) -> None:
    targets = [
        (name, target)
        for name, rule in resources(template, "AWS::Events::Rule").items()
        if "EventPattern" in rule["Properties"]  # the reconciler's schedule: test_reconciler.py
        for target in rule["Properties"]["Targets"]
    ]
    # projection queue, catalogue copy, order outcomes, OrderPlaced, replayed events, webhooks
    assert len(targets) == 6
    for name, target in targets:
        assert "DeadLetterConfig" in target, name
        assert "RetryPolicy" in target, name


def projector_rule(template: Template) -> tuple[str, Mapping[str, Any]]:
    """The logical id and properties of the rule feeding the projector (by its pattern: live
    events only, the replay rule matches replayed ones)."""
    [(name, rule)] = [
        (name, r["Properties"])
        for name, r in resources(template, "AWS::Events::Rule").items()
        if r["Properties"].get("EventPattern", {}).get("detail")
        == {"specversion": [{"exists": True}]}
        and "replay-name" not in r["Properties"]["EventPattern"]
        and "anything-but" in str(r["Properties"]["EventPattern"]["detail-type"])  # not webhooks'
    ]
    return name, rule


def test_projector_rule_sends_every_orderflow_cloud_event_to_its_queue(
    template: Template,
) -> None:
    _, rule = projector_rule(template)
    [target] = rule["Targets"]
    queue = output_ref(template, "ProjectionQueueUrl")

    # every CloudEvent about an order: the catalogue's events are about products
    assert rule["EventPattern"] == {
        "source": [{"prefix": "orderflow."}],
        "detail-type": [{"anything-but": ["ProductPriced"]}],
        "detail": {"specversion": [{"exists": True}]},
    }
    # the whole EventBridge event is the message body (the projector parses it)
    assert arn_target(target["Arn"]) == queue
    assert "Input" not in target and "InputPath" not in target
    assert "InputTransformer" not in target
    # delivery failures: retried, then the projector's DLQ
    assert arn_target(target["DeadLetterConfig"]["Arn"]) == output_ref(template, "ProjectorDlqUrl")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}


def test_only_the_projector_rule_may_send_to_the_projection_queue_and_its_dlq(
    template: Template,
) -> None:
    rule, _ = projector_rule(template)
    for output in ("ProjectionQueueUrl", "ProjectorDlqUrl"):
        queue = output_ref(template, output)
        allowed = [
            statement
            for policy in resources(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
        ]
        [statement] = allowed
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}, output
        assert "sqs:SendMessage" in as_list(statement["Action"]), output
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}
        }, output


def test_projector_consumes_its_queue_in_batches_and_failures_end_in_its_dlq(
    template: Template,
) -> None:
    projector = function_ids_by_handler(template)["orders.handlers.projector.handler"]
    queue = output_ref(template, "ProjectionQueueUrl")
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": projector}
    ]
    properties = resources(template, "AWS::SQS::Queue")[queue]["Properties"]

    assert arn_target(mapping["EventSourceArn"]) == queue
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "MaximumBatchingWindowInSeconds" not in mapping  # a lone event is projected at once
    # a record that keeps failing moves to the same DLQ as the events EventBridge could not
    # deliver, after its third receive
    assert arn_target(properties["RedrivePolicy"]["deadLetterTargetArn"]) == output_ref(
        template, "ProjectorDlqUrl"
    )
    assert properties["RedrivePolicy"]["maxReceiveCount"] == 3
    # no asynchronous invocation any more: nothing invokes the projector but its queue
    assert not [
        config
        for config in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": projector}
    ]
    assert not [
        permission
        for permission in resources(template, "AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [projector, "Arn"]}
    ]


def test_order_outcomes_reach_the_topic_then_both_subscribers(template: Template) -> None:
    topic = output_ref(template, "OrderOutcomesTopicArn")
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"] == {"Ref": topic}
    ]
    subscriptions = [
        s["Properties"]
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic}
    ]
    subscribed = {arn_target(s["Endpoint"]) for s in subscriptions}
    consumed = {
        arn_target(m["Properties"]["EventSourceArn"])
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
    }

    assert rule["EventPattern"] == {
        "source": [{"prefix": "orderflow."}],
        "detail-type": ["OrderConfirmed", "OrderCancelled"],
    }
    assert len(subscriptions) == 2
    assert all(s["RawMessageDelivery"] for s in subscriptions)
    assert subscribed <= consumed
    # what SNS cannot deliver to a queue goes to that queue's DLQ
    queues = resources(template, "AWS::SQS::Queue")
    for subscription in subscriptions:
        queue = queues[arn_target(subscription["Endpoint"])]["Properties"]
        assert subscription["RedrivePolicy"] == {
            "deadLetterTargetArn": queue["RedrivePolicy"]["deadLetterTargetArn"]
        }


def test_every_fulfilment_queue_but_a_dlq_has_a_redrive_policy(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue", FULFILMENT)
    dlqs = dead_letter_queue_ids(template)
    work_queues = {name for name in queues if name not in dlqs}

    # shipment requests, customer notifications, audit, projection, catalogue copy, replay,
    # webhook events and deliveries, the sandbox payment provider's confirmations (5 receives:
    # a provider retries its webhook)
    assert len(work_queues) == 9
    for name in work_queues:
        expected = 5 if "ProviderConfirmations" in name else 3
        assert queues[name]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == expected


def test_sqs_consumers_report_batch_item_failures_and_outlast_their_function(
    template: Template,
) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    functions = resources(template, "AWS::Lambda::Function")
    sqs_mappings = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if arn_target(m["Properties"]["EventSourceArn"]) in queues
    ]
    # shipment requests, customer notifications, audit, projection, catalogue copy, webhook
    # events and deliveries, the sandbox provider's confirmations
    assert len(sqs_mappings) == 8
    for mapping in sqs_mappings:
        queue = queues[arn_target(mapping["EventSourceArn"])]["Properties"]
        function = functions[mapping["FunctionName"]["Ref"]]["Properties"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # the sandbox provider's callback makes one webhook call (up to 10 s) per invocation
        one_at_a_time = function["Handler"] == "payments.handlers.sandbox_callback.handler"
        assert mapping["BatchSize"] == (1 if one_at_a_time else 10)
        assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_only_the_consumers_off_the_order_s_path_wait_to_fill_a_batch(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    functions = resources(template, "AWS::Lambda::Function")
    windows = {
        functions[m["Properties"]["FunctionName"]["Ref"]]["Properties"]["Handler"]: m[
            "Properties"
        ].get("MaximumBatchingWindowInSeconds")
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if arn_target(m["Properties"]["EventSourceArn"]) in queues
    }
    # telling the customer and the audit trail gather outcomes for up to 2 s (one invocation
    # for several orders); every other consumer is on an order's or a subscriber's path
    batching = {
        "notifications.handlers.customer_notifier.handler": 2,
        "notifications.handlers.audit_recorder.handler": 2,
    }
    assert {handler: window for handler, window in windows.items() if window} == batching
    assert len(windows) == 8


def outbox_relay_mapping(template: Template) -> Mapping[str, Any]:
    relay = function_ids_by_handler(template)["orders.handlers.outbox_relay.handler"]
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": relay}
    ]
    return mapping


def test_outbox_relay_reads_the_orders_stream_safely(template: Template) -> None:
    mapping = outbox_relay_mapping(template)
    [pattern] = mapping["FilterCriteria"]["Filters"]

    assert mapping["EventSourceArn"] == {
        "Fn::GetAtt": [output_ref(template, "OrdersTableName"), "StreamArn"]
    }
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100  # a backlog is relayed in large batches (see infra)
    assert "MaximumBatchingWindowInSeconds" not in mapping  # a lone record goes at once
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 5
    assert arn_target(mapping["DestinationConfig"]["OnFailure"]["Destination"]) == output_ref(
        template, "OutboxDlqUrl"
    )
    # Only records whose new image is a PENDING outbox item; on the ``dynamodb`` key alone,
    # the only one Lambda documents for filtering DynamoDB records
    assert json.loads(pattern["Pattern"]) == {
        "dynamodb": {"NewImage": {"sk": {"S": ["OUTBOX"]}, "status": {"S": ["PENDING"]}}}
    }


def stream_record(
    event_name: str, new: Mapping[str, str] | None, old: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An orders-table stream record as the event source mapping filters it (string
    attributes only)."""
    image = new or old or {}
    change: dict[str, Any] = {"Keys": {key: {"S": image[key]} for key in ("pk", "sk")}}
    for name, values in (("NewImage", new), ("OldImage", old)):
        if values is not None:
            change[name] = {key: {"S": value} for key, value in values.items()}
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": change}


PENDING_OUTBOX = {"pk": "OUTBOX#e-1", "sk": "OUTBOX", "status": "PENDING", "event": "{}"}
SENT_OUTBOX = {**PENDING_OUTBOX, "status": "SENT", "sentAt": "2025-01-15T10:00:01Z"}
PENDING_ORDER = {"pk": "ORDER#o-1", "sk": "ORDER", "status": "PENDING"}


@pytest.mark.parametrize(
    ("record", "invokes"),
    [
        (stream_record("INSERT", PENDING_OUTBOX), True),
        # an operator's re-drive, or the relay's failure bookkeeping (skipped in code)
        (stream_record("MODIFY", {**PENDING_OUTBOX, "redriveAt": "now"}, PENDING_OUTBOX), True),
        # the relay's own mark-SENT update
        (stream_record("MODIFY", SENT_OUTBOX, PENDING_OUTBOX), False),
        (stream_record("REMOVE", None, PENDING_OUTBOX), False),
        (stream_record("INSERT", PENDING_ORDER), False),
        (stream_record("MODIFY", {**PENDING_ORDER, "status": "CONFIRMED"}, PENDING_ORDER), False),
        (stream_record("INSERT", {"pk": "ORDER#o-1", "sk": "VIEW", "status": "PENDING"}), False),
    ],
    ids=[
        "outbox-insert",
        "outbox-touched-while-pending",
        "outbox-marked-sent",
        "outbox-removed",
        "order-insert",
        "order-confirmed",
        "view-insert",
    ],
)
def test_only_pending_outbox_records_invoke_the_relay(
    template: Template, record: dict[str, Any], invokes: bool
) -> None:
    [pattern] = outbox_relay_mapping(template)["FilterCriteria"]["Filters"]
    assert matches_filter(json.loads(pattern["Pattern"]), record) is invokes


# --- tables, functions, API, seed, outputs ---


def domain_tables(template: Template) -> dict[str, Any]:
    """The services' tables, without the API edge's (rate limits, idempotency keys) and the
    payment webhook's received ids (key-only tables with a TTL)."""
    edge = {
        output_ref(template, name)
        for name in (
            "RateLimitTableName",
            "IdempotencyTableName",
            "PaymentWebhookDeliveriesTableName",
        )
    }
    return {
        name: table
        for name, table in resources(template, "AWS::DynamoDB::Table", FULFILMENT).items()
        if name not in edge
    }


def test_domain_tables_have_pk_and_sk_and_only_orders_streams(template: Template) -> None:
    tables = domain_tables(template)
    # the six services', the read model's views, the reconciler's leases, webhooks' two
    assert len(tables) == 10
    orders = output_ref(template, "OrdersTableName")
    for name, table in tables.items():
        properties = table["Properties"]
        assert properties["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": False
        }
        assert table["DeletionPolicy"] == "Delete"
        stream = properties.get("StreamSpecification")
        assert stream == ({"StreamViewType": "NEW_AND_OLD_IMAGES"} if name == orders else None)


def test_prod_backs_up_and_keeps_the_domain_tables() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    for table in domain_tables(template).values():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert table["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(
    ("handler", "variables"),
    [
        ("orders.handlers.place_order.handler", {"ORDERS_TABLE": "OrdersTableName"}),
        ("orders.handlers.catalogue.handler", {"ORDERS_TABLE": "OrdersTableName"}),
        ("inventory.handlers.reserve_inventory.handler", {"PRODUCTS_TABLE": "ProductsTableName"}),
        ("payments.handlers.authorize_payment.handler", {"PAYMENTS_TABLE": "PaymentsTableName"}),
        (
            "shipping.handlers.schedule_shipment.handler",
            {"SHIPMENTS_TABLE": "ShipmentsTableName"},
        ),
        (
            "notifications.handlers.customer_notifier.handler",
            {"NOTIFICATIONS_TABLE": "NotificationsTableName"},
        ),
        ("notifications.handlers.audit_recorder.handler", {"AUDIT_TABLE": "AuditTableName"}),
    ],
)
def test_functions_are_told_their_tables_and_the_bus(
    template: Template, handler: str, variables: dict[str, str]
) -> None:
    function = resources(template, "AWS::Lambda::Function")[
        function_ids_by_handler(template)[handler]
    ]
    environment = function["Properties"]["Environment"]["Variables"]
    for variable, output in variables.items():
        assert environment[variable] == {"Ref": output_ref(template, output)}
    if not handler.startswith("notifications."):
        assert environment["EVENT_BUS_NAME"] == {"Ref": output_ref(template, "BusName")}


def test_payment_provider_is_simulated_with_latency_and_flaky_failures(
    template: Template,
) -> None:
    for handler in ("authorize_payment", "void_payment"):
        function = resources(template, "AWS::Lambda::Function")[
            function_ids_by_handler(template)[f"payments.handlers.{handler}.handler"]
        ]
        environment = function["Properties"]["Environment"]["Variables"]
        assert environment["PROVIDER_LATENCY_MS"] == "30"
        assert environment["PROVIDER_FLAKY_FAILURES"] == "2"


def test_orders_api_routes(template: Template) -> None:
    functions = {
        function["Properties"]["Handler"]: name
        for name, function in resources(template, "AWS::Lambda::Function").items()
        if "RATE_LIMIT_ENABLED" in function["Properties"]["Environment"]["Variables"]
    }
    api = output_ref(template, "OrdersApiId")
    paths = {
        name: r["Properties"]["PathPart"]
        for name, r in resources(template, "AWS::ApiGateway::Resource").items()
    }
    routes = {
        (
            method["Properties"]["HttpMethod"],
            paths[method["Properties"]["ResourceId"]["Ref"]],
        ): render_join(method["Properties"]["Integration"]["Uri"])
        for method in resources(template, "AWS::ApiGateway::Method").values()
        if method["Properties"]["RestApiId"] == {"Ref": api}
    }
    expected = {
        ("POST", "orders"): "orders.handlers.place_order.handler",
        ("GET", "{orderId}"): "orders.handlers.get_order.handler",
        ("GET", "products"): "inventory.handlers.list_products.handler",
        **dict.fromkeys(
            [
                ("POST", "webhooks"),
                ("GET", "webhooks"),
                ("GET", "{id}"),
                ("DELETE", "{id}"),
                ("POST", "rotate-secret"),
                ("POST", "enable"),
                ("GET", "deliveries"),
                ("POST", "redeliver"),
            ],
            "webhooks.handlers.api.handler",
        ),
        ("POST", "payments"): "payments.handlers.payment_webhook.handler",
    }
    assert set(routes) - {("GET", "jwks.json")} == set(
        expected
    )  # public: tests/infra/test_identity
    for route, handler in expected.items():
        assert f"<{functions[handler]}.Arn>" in routes[route]


def test_seed_carries_the_products_of_data_products_json(template: Template) -> None:
    [seed] = resources(template, "Custom::ProductsSeed").values()
    seeder = function_ids_by_handler(template)["inventory.handlers.seed_products.handler"]
    framework = arn_target(seed["Properties"]["ServiceToken"])
    invoked = [
        resource
        for statement in function_statements(template, framework)
        if statement["Action"] == "lambda:InvokeFunction"
        for resource in statement["Resource"]
    ]

    assert seed["Properties"]["Products"] == load_products()
    assert {p["sku"] for p in seed["Properties"]["Products"]} >= {"SKU-OOS-008", "SKU-LMP-007"}
    # the provider's framework function invokes the seed function
    assert {"Fn::GetAtt": [seeder, "Arn"]} in invoked


def test_outputs_name_every_fulfilment_resource(template: Template) -> None:
    assert set(template.find_outputs("*")) >= FULFILMENT_OUTPUTS


# --- orders' copy of the catalogue ---

CATALOGUE_CONSUMER = "orders.handlers.catalogue.handler"


def test_inventory_prices_reach_the_catalogue_queue_with_a_dlq(template: Template) -> None:
    queue = output_ref(template, "CatalogueQueueUrl")
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
    ]
    [target] = rule["Targets"]

    assert rule["EventPattern"] == {
        "source": ["orderflow.inventory"],
        "detail-type": ["ProductPriced"],
    }
    # the whole EventBridge event is the message body (the consumer parses it)
    assert "Input" not in target and "InputPath" not in target
    assert "InputTransformer" not in target
    assert arn_target(target["DeadLetterConfig"]["Arn"]) == output_ref(template, "CatalogueDlqUrl")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}


def test_the_catalogue_consumer_takes_its_queue_in_batches_and_failures_end_in_its_dlq(
    template: Template,
) -> None:
    consumer = function_ids_by_handler(template)[CATALOGUE_CONSUMER]
    queue = output_ref(template, "CatalogueQueueUrl")
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": consumer}
    ]
    properties = resources(template, "AWS::SQS::Queue")[queue]["Properties"]

    assert arn_target(mapping["EventSourceArn"]) == queue
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [output_ref(template, "CatalogueDlqUrl"), "Arn"]},
        "maxReceiveCount": 3,
    }


def granted_resources(statements: list[dict[str, Any]]) -> str:
    return json.dumps([statement.get("Resource") for statement in statements])


def test_no_orders_function_may_touch_the_products_table(template: Template) -> None:
    products = output_ref(template, "ProductsTableName")
    orders_functions = {
        handler: name
        for handler, name in function_ids_by_handler(template).items()
        if handler.startswith("orders.")
    }
    assert CATALOGUE_CONSUMER in orders_functions
    for handler, function in orders_functions.items():
        statements = function_statements(template, function)
        assert products not in granted_resources(statements), handler
        environment = resources(template, "AWS::Lambda::Function")[function]["Properties"][
            "Environment"
        ]["Variables"]
        assert "PRODUCTS_TABLE" not in environment, handler


def test_the_catalogue_consumer_writes_the_orders_table_and_nothing_else(
    template: Template,
) -> None:
    consumer = function_ids_by_handler(template)[CATALOGUE_CONSUMER]
    orders = output_ref(template, "OrdersTableName")
    queue = output_ref(template, "CatalogueQueueUrl")
    statements = function_statements(template, consumer)
    actions = {action for s in statements for action in as_list(s["Action"])}

    assert "dynamodb:PutItem" in actions
    assert not {a for a in actions if a.startswith("events:")}
    tables = {
        name
        for s in statements
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
        for name in resources(template, "AWS::DynamoDB::Table")
        if name in json.dumps(s["Resource"])
    }
    assert tables == {orders}
    assert queue in granted_resources(statements)


def test_the_seed_publishes_prices_to_the_bus(template: Template) -> None:
    seeder = function_ids_by_handler(template)["inventory.handlers.seed_products.handler"]
    actions = {
        action
        for statement in function_statements(template, seeder)
        for action in as_list(statement["Action"])
    }
    assert "events:PutEvents" in actions


def dynamodb_tables_granted(template: Template, function: str) -> dict[str, set[str]]:
    """Logical id of each table the function's role may act on -> the DynamoDB actions."""
    granted: dict[str, set[str]] = {}
    for statement in function_statements(template, function):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
        for name in resources(template, "AWS::DynamoDB::Table"):
            if actions and name in json.dumps(statement["Resource"]):
                granted.setdefault(name, set()).update(actions)
    return granted


def test_the_read_model_has_a_table_of_its_own_written_by_the_projector_alone(
    template: Template,
) -> None:
    views = output_ref(template, "OrderViewsTableName")
    orders = output_ref(template, "OrdersTableName")
    handlers = function_ids_by_handler(template)
    projector = handlers["orders.handlers.projector.handler"]
    get_order = handlers["orders.handlers.get_order.handler"]
    # no stream: nothing reads the read model's changes
    properties = resources(template, "AWS::DynamoDB::Table")[views]["Properties"]
    assert "StreamSpecification" not in properties
    # the projector writes the views and nothing else; GET /orders/{orderId} reads both tables
    projector_tables = dynamodb_tables_granted(template, projector)
    assert set(projector_tables) == {views}
    assert "dynamodb:UpdateItem" in projector_tables[views]
    get_order_tables = dynamodb_tables_granted(template, get_order)  # and the edge's limiter
    for table in (views, orders):
        assert not {a for a in get_order_tables[table] if "Put" in a or "Update" in a}
    # and only those two functions are told where it is
    functions = resources(template, "AWS::Lambda::Function")
    told = {
        name
        for name, function in functions.items()
        if "ORDER_VIEWS_TABLE" in function["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert told == {projector, get_order}
