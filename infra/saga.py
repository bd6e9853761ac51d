"""The order-fulfilment saga: a Step Functions Standard state machine started by OrderPlaced.

States, what each Lambda step is given (its InputPath) and where its result goes (its
ResultPath: the state accumulates, each result under its own key)::

    RecordOrder        input: {event: $, executionId: $$.Execution.Id} -> $.order
    ReserveInventory   input: $.order                                -> $.reservation
    AuthorizePayment   input: $.order                                -> $.payment
    ScheduleShipment   SQS {orderId, items, taskToken, correlationId, causationId}, waits for
                       the shipping worker's SendTaskSuccess (60 s)  -> $.shipment
    ConfirmOrder       input: $.order                                -> $.outcome
    CommitInventory    input: $.order                                -> $.reservation
    OrderFulfilled     Succeed

Compensation (a Catch puts {Error, Cause} at $.error and jumps to the compensation of the
last step done; each compensation undoes one step and falls through to the next)::

    VoidPayment        input: $.order                                -> $.payment
    ReleaseInventory   input: $.order                                -> $.reservation
    CancelOrder        input: {orderId, correlationId, causationId (from $.order), error: $.error}
                                                                     -> $.outcome
    OrderCancelled     Succeed: a cancelled order is a business outcome the saga handled, so
                       the execution succeeds; $.outcome.status is CANCELLED and
                       $.outcome.reason says why (OUT_OF_STOCK, PAYMENT_DECLINED, ...).

    ReserveInventory:  OutOfStock -> CancelOrder; anything else -> ReleaseInventory
    AuthorizePayment:  PaymentDeclined -> ReleaseInventory; anything else -> VoidPayment
    ScheduleShipment, ConfirmOrder: anything (States.Timeout included) -> VoidPayment

"Anything else" starts one compensation earlier than strictly needed: a step that timed out
may have done its work, and every compensation is idempotent and fine with nothing to undo.

RecordOrder: MalformedEventError -> ReportMalformedEvent (the reason and the original event
to the malformed-events queue) -> Fail ``MalformedEvent``. Nothing else changes.
RecordOrder: SagaAlreadyStarted -> Succeed ``AlreadyStarted``. RecordOrder claims the order's
saga for its execution; EventBridge delivers at least once, and a second execution for the same
order must not reserve, charge or wait for a shipment again (its shipment request would never
be answered: the worker completes one saga per order, and the timeout would compensate an order
the first execution confirmed).

Retries: transient errors (and Lambda service errors) are retried with exponential backoff and
full jitter; business errors are never retried, only caught. Compensations are retried on any
error until they succeed, except for the business errors that retrying cannot fix
(OrderStateConflict, OrderNotFound): those fail the execution for a human to look at. So does
a business error of CommitInventory, after the order was confirmed.
"""

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import DeploymentConfig
from infra.inventory import Inventory
from infra.orders import Orders
from infra.payments import Payments
from infra.queues import dead_letter_queue
from infra.shipping import Shipping

ERROR_PATH = "$.error"
ORDER = "$.order"
"""Where RecordOrder puts the order; the input of every later step."""

TRANSIENT_ERRORS = ["ProviderUnavailable", "PublishError", "InventoryBusy"]
"""Domain errors that a retry may fix (``shared_kernel.errors.TransientError``)."""

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]

SQS_ERRORS = ["SQS.SdkClientException", "SQS.AmazonSQSException"]

FINAL_BUSINESS_ERRORS = ["OrderStateConflict", "OrderNotFound"]
"""Business errors a compensation can meet; retrying cannot fix them."""

TRANSIENT_RETRY: dict[str, Any] = {
    "errors": [*TRANSIENT_ERRORS, *LAMBDA_SERVICE_ERRORS],
    "interval": Duration.seconds(1),
    "max_attempts": 5,
    "backoff_rate": 2,
    "max_delay": Duration.seconds(8),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""Up to 5 retries, 1 s doubling to at most 8 s, full jitter (``tok_flaky`` needs 2)."""

COMPENSATION_RETRY: dict[str, Any] = {
    "errors": [sfn.Errors.ALL],
    "interval": Duration.seconds(1),
    "max_attempts": 10,
    "backoff_rate": 2,
    "max_delay": Duration.seconds(30),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""A compensation must happen: 10 retries of any error, backing off to 30 s (~4 minutes)."""

SHIPMENT_TIMEOUT = Duration.seconds(60)
"""How long ScheduleShipment waits for the shipping worker before compensating."""


class FulfilmentSaga(Construct):
    """The saga, the rule that starts it on ``OrderPlaced``, and its dead-letter queues.

    Attributes:
        state_machine: the saga (Standard, X-Ray tracing, logs in ``log_group``).
        rule, rule_dlq: ``orderflow.orders``/``OrderPlaced`` on the bus -> the state machine;
            events EventBridge cannot start an execution for land in ``rule_dlq``.
        malformed_events: where a malformed OrderPlaced ends, as ``{error, reason, event}``.
        log_group: the state machine's execution log.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        orders: Orders,
        inventory: Inventory,
        payments: Payments,
        shipping: Shipping,
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            bus: the bus OrderPlaced is published to.
            orders, inventory, payments: the services whose functions are the steps.
            shipping: its request queue is ScheduleShipment's; its worker answers the task.
            config: the stage (log level and retention).
        """
        super().__init__(scope, id)
        self.malformed_events = dead_letter_queue(self, "MalformedEvents")

        def invoke(
            id: str,
            function: lambda_.IFunction,
            result_path: str,
            *,
            input_path: str | None = None,
            payload: sfn.TaskInput | None = None,
        ) -> tasks.LambdaInvoke:
            return tasks.LambdaInvoke(
                self,
                id,
                lambda_function=function,
                # The function gets ``input_path`` of the state (or ``payload``); its return
                # value (not the Invoke API response) is stored at ``result_path``.
                input_path=input_path,
                payload=payload,
                payload_response_only=True,
                retry_on_service_exceptions=False,  # the retriers below cover them
                result_path=result_path,
            )

        def step(
            id: str, function: lambda_.IFunction, result_path: str, input_path: str = ORDER
        ) -> tasks.LambdaInvoke:
            task = invoke(id, function, result_path, input_path=input_path)
            task.add_retry(**TRANSIENT_RETRY)
            return task

        def compensation(
            id: str,
            function: lambda_.IFunction,
            result_path: str,
            payload: sfn.TaskInput | None = None,
        ) -> tasks.LambdaInvoke:
            task = invoke(
                id, function, result_path, input_path=None if payload else ORDER, payload=payload
            )
            task.add_retry(errors=FINAL_BUSINESS_ERRORS, max_attempts=0)
            task.add_retry(**COMPENSATION_RETRY)
            return task

        # Compensations, last one first: each falls through to the next.
        cancel = compensation(
            "CancelOrder",
            orders.cancel_order,
            "$.outcome",
            sfn.TaskInput.from_object(
                {
                    "orderId": sfn.JsonPath.string_at("$.order.orderId"),
                    "correlationId": sfn.JsonPath.string_at("$.order.correlationId"),
                    "causationId": sfn.JsonPath.string_at("$.order.causationId"),
                    "error": sfn.JsonPath.object_at(ERROR_PATH),
                }
            ),
        )
        cancel.next(sfn.Succeed(self, "OrderCancelled", comment="compensated; see $.outcome"))
        release = compensation("ReleaseInventory", inventory.release, "$.reservation")
        release.next(cancel)
        void = compensation("VoidPayment", payments.void, "$.payment")
        void.next(release)

        # The event that started the execution, and the execution's id: RecordOrder claims the
        # order's saga for it, so a second delivery of the same OrderPlaced ends right there.
        record = invoke(
            "RecordOrder",
            orders.record_order,
            ORDER,
            payload=sfn.TaskInput.from_object(
                {"event": sfn.JsonPath.entire_payload, "executionId": sfn.JsonPath.execution_id}
            ),
        )
        record.add_retry(**TRANSIENT_RETRY)
        _catch(
            record,
            sfn.Succeed(self, "AlreadyStarted", comment="another execution runs this order's saga"),
            ["SagaAlreadyStarted"],
        )
        report_malformed = tasks.SqsSendMessage(
            self,
            "ReportMalformedEvent",
            queue=self.malformed_events,
            message_body=sfn.TaskInput.from_object(
                {
                    "error": sfn.JsonPath.string_at("$.error.Error"),
                    "reason": sfn.JsonPath.string_at("$.error.Cause"),
                    "event": sfn.JsonPath.object_at("$$.Execution.Input"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        report_malformed.add_retry(
            errors=SQS_ERRORS, interval=Duration.seconds(1), max_attempts=3, backoff_rate=2
        )
        report_malformed.next(
            sfn.Fail(
                self,
                "MalformedEvent",
                error="MalformedEvent",
                cause="OrderPlaced is malformed; it is in the malformed-events queue",
            )
        )
        _catch(record, report_malformed, ["MalformedEventError"])

        reserve = step("ReserveInventory", inventory.reserve, "$.reservation")
        _catch(reserve, cancel, ["OutOfStock"])
        _catch(reserve, release)

        authorize = step("AuthorizePayment", payments.authorize, "$.payment")
        _catch(authorize, release, ["PaymentDeclined"])
        _catch(authorize, void)

        schedule_shipment = tasks.SqsSendMessage(
            self,
            "ScheduleShipment",
            queue=shipping.requests.queue,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            message_body=sfn.TaskInput.from_object(
                {
                    "orderId": sfn.JsonPath.string_at("$.order.orderId"),
                    "items": sfn.JsonPath.list_at("$.order.items"),
                    "taskToken": sfn.JsonPath.task_token,
                    "correlationId": sfn.JsonPath.string_at("$.order.correlationId"),
                    "causationId": sfn.JsonPath.string_at("$.order.causationId"),
                }
            ),
            task_timeout=sfn.Timeout.duration(SHIPMENT_TIMEOUT),
            result_path="$.shipment",
        )
        schedule_shipment.add_retry(
            errors=SQS_ERRORS, interval=Duration.seconds(1), max_attempts=3, backoff_rate=2
        )
        _catch(schedule_shipment, void)

        confirm = step("ConfirmOrder", orders.confirm_order, "$.outcome")
        _catch(confirm, void)
        commit = step("CommitInventory", inventory.commit, "$.reservation")

        definition = (
            sfn.Chain.start(record)
            .next(reserve)
            .next(authorize)
            .next(schedule_shipment)
            .next(confirm)
            .next(commit)
            .next(sfn.Succeed(self, "OrderFulfilled"))
        )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # Ample for the retries' backoff (a compensation may take ~4 minutes).
            timeout=Duration.minutes(30),
            tracing_enabled=True,
            # Failures only: every state's input and output is in the execution history already,
            # and logging ALL costs a log write per state transition.
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ERROR,
                include_execution_data=not config.is_production,
            ),
        )
        self.state_machine.grant_task_response(shipping.scheduler)

        self.rule_dlq = dead_letter_queue(self, "OrderPlacedDlq")
        self.rule = events.Rule(
            self,
            "OrderPlaced",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=["orderflow.orders"], detail_type=["OrderPlaced"]
            ),
        )
        # The execution's input is the whole EventBridge event.
        self.rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                dead_letter_queue=self.rule_dlq,
                retry_attempts=4,
                max_event_age=Duration.hours(1),
            )
        )


def _catch(
    state: sfn.TaskStateBase, handler: sfn.IChainable, errors: Sequence[str] | None = None
) -> None:
    """On ``errors`` (any error by default) keep the state, add ``$.error``, go to ``handler``."""
    state.add_catch(handler, errors=list(errors or [sfn.Errors.ALL]), result_path=ERROR_PATH)
