"""The order-fulfilment saga: a Step Functions Standard state machine started by OrderPlaced.

States, what each Lambda step is given (its InputPath) and where its result goes (its
ResultPath: the state accumulates, each result under its own key)::

    RecordOrder        input: {event: $, executionId: $$.Execution.Id} -> $.order
    ReserveInventory   input: $.order                                -> $.reservation
    AuthorizePayment   input: $.order                                -> $.payment
    PaymentPending     Choice: $.payment.status PENDING (the provider confirms later) ->
                       AwaitPaymentConfirmation; anything else -> ScheduleShipment
    AwaitPaymentConfirmation  Lambda ``.waitForTaskToken`` {orderId, authorizationId,
                       taskToken, correlationId, causationId}: the function keeps the token on
                       the PENDING authorisation; the payment webhook answers it
                       (``SagaTimeouts.payment_confirmation``, 300 s)  -> $.payment
    ScheduleShipment   SQS {orderId, items, taskToken, correlationId, causationId}, waits for
                       the shipping worker's SendTaskSuccess (``SagaTimeouts.shipment``,
                       60 s by default; infra/timeouts.py)         -> $.shipment
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
                       (ProviderUnavailable or CircuitOpen once their retries are spent:
                       CancelOrder's reason is PAYMENT_UNAVAILABLE)
    AwaitPaymentConfirmation: States.Timeout -> PaymentNotConfirmed (Pass: $.error becomes
                       ``PaymentTimeout``, so CancelOrder's reason is PAYMENT_TIMEOUT) ->
                       VoidPayment; PaymentDeclined (the webhook's SendTaskFailure) ->
                       ReleaseInventory; anything else -> VoidPayment
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

Retries: a step a bulkhead throttled waits for a slot (up to 25 short jittered retries);
transient errors (and Lambda service errors) are retried with exponential backoff and full
jitter; business errors are never retried, only caught. Compensations are retried on any
error until they succeed, except for the business errors that retrying cannot fix
(OrderStateConflict, OrderNotFound): those fail the execution for a human to look at. So does
a business error of CommitInventory, after the order was confirmed.

The domain error names above (OutOfStock, PaymentDeclined, MalformedEventError, ...) are the
class names of the function code's exceptions, imported through ``infra.contracts``. The steps
are given as a ``SagaSteps`` of Lambda functions, the shipment queue and its worker: the saga
knows no service construct.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import DeploymentConfig
from infra.contracts import (
    ORDER_PLACED,
    ORDERS_SOURCE,
    PAYMENT_PENDING,
    CircuitOpen,
    InventoryBusy,
    MalformedEventError,
    OrderNotFound,
    OrderStateConflict,
    OutOfStock,
    PaymentDeclined,
    PaymentTimeout,
    ProviderUnavailable,
    PublishError,
    ReservationNotFound,
    ReservationReleased,
    SagaAlreadyStarted,
    error_names,
)
from infra.nag import ANY_FUNCTION_VERSION, default_policy, suppress
from infra.queues import RULE_MAX_EVENT_AGE, RULE_RETRY_ATTEMPTS, dead_letter_queue

ERROR_PATH = "$.error"
ORDER = "$.order"
"""Where RecordOrder puts the order; the input of every later step."""

TRANSIENT_ERRORS = error_names(ProviderUnavailable, CircuitOpen, PublishError, InventoryBusy)
"""Domain errors that a retry may fix (``shared_kernel.errors.TransientError``); each step
retries those it raises (its handler's ``raises``, checked by tests/infra/test_contracts.py)."""

LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"
"""The function's reserved concurrency (a bulkhead) or the account's is in use."""

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
]

LAMBDA_RUNTIME_FAILURES = ["Sandbox.Timedout", "Runtime.ExitError", "Lambda.Unknown"]
"""The function timed out or its runtime died (crash, out of memory) before it answered: the
step may or may not have done its work, and every forward step is idempotent (reservations
and authorizations are keyed by order, transitions already made are no-ops), so it is retried
like the Lambda service's errors. An error the handler raises that no step declares (a bug,
or FIS's ``aws:lambda:invocation-error``) is not: the step fails and the saga compensates.
Found by the chaos experiments (docs/chaos.md): inventory steps delayed past their timeout
cancelled a third of the orders ``SAGA_FAILED`` before this."""

SQS_ERRORS = ["SQS.SdkClientException", "SQS.AmazonSQSException"]

FINAL_BUSINESS_ERRORS = error_names(OrderStateConflict, OrderNotFound)
"""Business errors a compensation can meet; retrying cannot fix them."""

THROTTLE_RETRY: dict[str, Any] = {
    "errors": [LAMBDA_THROTTLED],
    "interval": Duration.seconds(1),
    "max_attempts": 25,
    "backoff_rate": 1.5,
    "max_delay": Duration.seconds(4),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""A step a bulkhead refused waits for a slot: up to 25 retries, 1 s growing to at most 4 s,
full jitter (at most ~90 s in all), first on every Lambda task. A throttle says nothing is
wrong with the step, only that its slots are busy: under ``TRANSIENT_RETRY`` (5 retries,
doubling to 8 s) a burst of 40 sagas against AuthorizePayment's 3 slots needed up to 4 of the 5
(``bench.sagas --at-once 40``: 83 throttles), a larger one or a slower provider cancelled good
orders ``SAGA_FAILED`` (docs/chaos.md, DynamoDB throttling), and the long doubling waits left
the slots idle while sagas slept."""

TRANSIENT_RETRY: dict[str, Any] = {
    "errors": [*LAMBDA_SERVICE_ERRORS, *LAMBDA_RUNTIME_FAILURES],
    "interval": Duration.seconds(1),
    "max_attempts": 5,
    "backoff_rate": 2,
    "max_delay": Duration.seconds(8),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""Up to 5 retries, 1 s doubling to at most 8 s, full jitter (``tok_flaky`` needs 2), of the
Lambda service's errors (throttles have ``THROTTLE_RETRY``), of a function that timed out or
died, and of the step's own transient errors (``_step``)."""

COMPENSATION_RETRY: dict[str, Any] = {
    "errors": [sfn.Errors.ALL],
    "interval": Duration.seconds(1),
    "max_attempts": 10,
    "backoff_rate": 2,
    "max_delay": Duration.seconds(30),
    "jitter_strategy": sfn.JitterType.FULL,
}
"""A compensation must happen: 10 retries of any error, backing off to 30 s (~4 minutes)."""

SQS_RETRY: dict[str, Any] = {
    "errors": SQS_ERRORS,
    "interval": Duration.seconds(1),
    "max_attempts": 3,
    "backoff_rate": 2,
}
"""A message the saga sends (shipment request, malformed event): 3 retries from 1 s."""


@dataclass(frozen=True)
class SagaSteps:
    """What the saga drives: one Lambda function per step and compensation, the queue of
    shipment requests and the worker that answers them.

    Attributes:
        record_order, reserve_inventory, authorize_payment, confirm_order, commit_inventory:
            the forward steps' functions.
        void_payment, release_inventory, cancel_order: the compensations' functions.
        shipment_requests: ScheduleShipment sends its request (with the task token) here.
        shipping_worker: consumes ``shipment_requests``; granted ``SendTaskSuccess`` and
            ``SendTaskFailure`` on the state machine.
        await_payment_confirmation: AwaitPaymentConfirmation's function (``waitForTaskToken``).
        payment_confirmers: the roles of who answers that wait (the payment webhook, and the
            wait's own function when the confirmation came first): the task response is
            granted in a policy of its own (``PaymentConfirmers``), not their default policies,
            because the state machine's role depends on the wait's function already.
    """

    record_order: lambda_.IFunction
    reserve_inventory: lambda_.IFunction
    authorize_payment: lambda_.IFunction
    confirm_order: lambda_.IFunction
    commit_inventory: lambda_.IFunction
    void_payment: lambda_.IFunction
    release_inventory: lambda_.IFunction
    cancel_order: lambda_.IFunction
    shipment_requests: sqs.IQueue
    shipping_worker: iam.IGrantable
    await_payment_confirmation: lambda_.IFunction
    payment_confirmers: Sequence[iam.IRole]


@dataclass(frozen=True)
class _Compensations:
    """The first state of each compensation path: each undoes one step and falls through to
    the next (void -> release -> cancel -> OrderCancelled)."""

    void: sfn.IChainable
    release: sfn.IChainable
    cancel: sfn.IChainable


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
        steps: SagaSteps,
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            bus: the bus OrderPlaced is published to.
            steps: the functions of the steps and compensations, the shipment queue and its
                worker.
            config: the stage (log level and retention, the saga's timeouts).
        """
        super().__init__(scope, id)
        self._timeouts = config.saga_timeouts
        self.malformed_events = dead_letter_queue(self, "MalformedEvents")
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
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(steps)),
            # Ample for the retries' backoff (a compensation may take ~4 minutes).
            timeout=config.saga_timeouts.execution,
            tracing_enabled=True,
            # Failures only: every state's input and output is in the execution history already,
            # and logging ALL costs a log write per state transition.
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ERROR,
                include_execution_data=not config.is_production,
            ),
        )
        self.state_machine.grant_task_response(steps.shipping_worker)
        iam.Policy(
            self,
            "PaymentConfirmers",
            statements=[
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[self.state_machine.state_machine_arn],
                )
            ],
            roles=list(steps.payment_confirmers),
        )
        _suppress_findings(self.state_machine)
        self.rule_dlq = dead_letter_queue(self, "OrderPlacedDlq")
        self.rule = self._start_on_order_placed(bus)

    def _definition(self, steps: SagaSteps) -> sfn.IChainable:
        """The happy path, each step's Catch pointing at the compensations it needs."""
        undo = self._compensations(steps)
        record = self._record_order(steps.record_order)

        reserve = self._step(
            "ReserveInventory",
            steps.reserve_inventory,
            "$.reservation",
            transient=(InventoryBusy, PublishError),
        )
        _catch(reserve, undo.cancel, OutOfStock)
        _catch(reserve, undo.release)

        authorize = self._step(
            "AuthorizePayment",
            steps.authorize_payment,
            "$.payment",
            # CircuitOpen: the breaker failed the call fast; spent retries -> PAYMENT_UNAVAILABLE
            transient=(ProviderUnavailable, CircuitOpen, PublishError),
        )
        _catch(authorize, undo.release, PaymentDeclined)
        _catch(authorize, undo.void)
        await_confirmation = self._await_payment_confirmation(
            steps.await_payment_confirmation, undo
        )

        schedule_shipment = self._schedule_shipment(steps.shipment_requests)
        _catch(schedule_shipment, undo.void)

        confirm = self._step("ConfirmOrder", steps.confirm_order, "$.outcome")
        _catch(confirm, undo.void)
        commit = self._step(
            "CommitInventory", steps.commit_inventory, "$.reservation", transient=(InventoryBusy,)
        )
        # After the order was confirmed nothing can be undone: a commit that finds no live
        # reservation fails the execution, named, for a human to look at.
        _catch(
            commit,
            sfn.Fail(
                self,
                "InventoryNotCommitted",
                error="InventoryNotCommitted",
                cause="the confirmed order's reservation was missing or released",
            ),
            ReservationNotFound,
            ReservationReleased,
        )

        schedule_shipment.next(confirm).next(commit).next(sfn.Succeed(self, "OrderFulfilled"))
        await_confirmation.next(schedule_shipment)
        payment_pending = (
            sfn.Choice(self, "PaymentPending")
            .when(
                sfn.Condition.string_equals("$.payment.status", PAYMENT_PENDING),
                await_confirmation,
            )
            .otherwise(schedule_shipment)
        )
        return sfn.Chain.start(record).next(reserve).next(authorize).next(payment_pending)

    def _await_payment_confirmation(
        self, function: lambda_.IFunction, undo: "_Compensations"
    ) -> tasks.LambdaInvoke:
        """Invokes ``function`` with a task token and waits (``SagaTimeouts.payment_confirmation``)
        for the payment webhook's answer: the authorisation (SendTaskSuccess, -> $.payment) or
        ``PaymentDeclined`` (SendTaskFailure). No answer in time: ``PaymentTimeout``."""
        wait = tasks.LambdaInvoke(
            self,
            "AwaitPaymentConfirmation",
            lambda_function=function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "orderId": sfn.JsonPath.string_at("$.order.orderId"),
                    "authorizationId": sfn.JsonPath.string_at("$.payment.authorizationId"),
                    "taskToken": sfn.JsonPath.task_token,
                    "correlationId": sfn.JsonPath.string_at("$.order.correlationId"),
                    "causationId": sfn.JsonPath.string_at("$.order.causationId"),
                }
            ),
            task_timeout=sfn.Timeout.duration(self._timeouts.payment_confirmation),
            retry_on_service_exceptions=False,  # TRANSIENT_RETRY covers them
            result_path="$.payment",
        )
        wait.add_retry(**THROTTLE_RETRY)
        wait.add_retry(**TRANSIENT_RETRY)
        not_confirmed = sfn.Pass(
            self,
            "PaymentNotConfirmed",
            comment="the saga's own timeout, named so CancelOrder's reason is PAYMENT_TIMEOUT",
            parameters={
                "Error": PaymentTimeout.__name__,
                "Cause": f"no payment confirmation within "
                f"{self._timeouts.payment_confirmation_seconds} s",
            },
            result_path=ERROR_PATH,
        )
        not_confirmed.next(undo.void)
        wait.add_catch(not_confirmed, errors=[sfn.Errors.TIMEOUT], result_path=ERROR_PATH)
        _catch(wait, undo.release, PaymentDeclined)
        _catch(wait, undo.void)
        return wait

    def _compensations(self, steps: SagaSteps) -> _Compensations:
        """VoidPayment -> ReleaseInventory -> CancelOrder -> OrderCancelled (Succeed)."""
        cancel = self._compensation(
            "CancelOrder",
            steps.cancel_order,
            "$.outcome",
            sfn.TaskInput.from_object(
                {
                    "orderId": sfn.JsonPath.string_at("$.order.orderId"),
                    "correlationId": sfn.JsonPath.string_at("$.order.correlationId"),
                    "causationId": sfn.JsonPath.string_at("$.order.causationId"),
                    "error": sfn.JsonPath.object_at(ERROR_PATH),
                }
            ),
            final=(OrderStateConflict, OrderNotFound),
        )
        cancel.next(sfn.Succeed(self, "OrderCancelled", comment="compensated; see $.outcome"))
        release = self._compensation("ReleaseInventory", steps.release_inventory, "$.reservation")
        release.next(cancel)
        void = self._compensation("VoidPayment", steps.void_payment, "$.payment")
        void.next(release)
        return _Compensations(void=void, release=release, cancel=cancel)

    def _record_order(self, function: lambda_.IFunction) -> tasks.LambdaInvoke:
        """RecordOrder, given the event that started the execution and the execution's id: it
        claims the order's saga for this execution, so a second delivery of the same
        OrderPlaced ends right there (``AlreadyStarted``); a malformed event is reported."""
        record = self._invoke(
            "RecordOrder",
            function,
            ORDER,
            payload=sfn.TaskInput.from_object(
                {"event": sfn.JsonPath.entire_payload, "executionId": sfn.JsonPath.execution_id}
            ),
        )
        record.add_retry(**TRANSIENT_RETRY)  # the Lambda service's errors: it raises no other
        _catch(
            record,
            sfn.Succeed(self, "AlreadyStarted", comment="another execution runs this order's saga"),
            SagaAlreadyStarted,
        )
        _catch(record, self._report_malformed(), MalformedEventError)
        return record

    def _report_malformed(self) -> sfn.IChainable:
        """ReportMalformedEvent (the reason and the original event to ``malformed_events``)
        -> MalformedEvent (Fail)."""
        report = tasks.SqsSendMessage(
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
        report.add_retry(**SQS_RETRY)
        return report.next(
            sfn.Fail(
                self,
                "MalformedEvent",
                error="MalformedEvent",
                cause="OrderPlaced is malformed; it is in the malformed-events queue",
            )
        )

    def _schedule_shipment(self, queue: sqs.IQueue) -> tasks.SqsSendMessage:
        """Sends the shipment request with a task token and waits (``SagaTimeouts.shipment``,
        and its heartbeat if one is set) for the shipping worker's ``SendTaskSuccess``."""
        heartbeat = self._timeouts.shipment_heartbeat
        schedule = tasks.SqsSendMessage(
            self,
            "ScheduleShipment",
            queue=queue,
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
            task_timeout=sfn.Timeout.duration(self._timeouts.shipment),
            heartbeat_timeout=None if heartbeat is None else sfn.Timeout.duration(heartbeat),
            result_path="$.shipment",
        )
        schedule.add_retry(**SQS_RETRY)
        return schedule

    def _step(
        self,
        id: str,
        function: lambda_.IFunction,
        result_path: str,
        *,
        transient: Sequence[type[Exception]] = (),
    ) -> tasks.LambdaInvoke:
        """A forward step: the order in; the Lambda service's errors and the step's own
        ``transient`` errors retried."""
        task = self._invoke(id, function, result_path, input_path=ORDER)
        task.add_retry(
            **{**TRANSIENT_RETRY, "errors": [*error_names(*transient), *TRANSIENT_RETRY["errors"]]}
        )
        return task

    def _compensation(
        self,
        id: str,
        function: lambda_.IFunction,
        result_path: str,
        payload: sfn.TaskInput | None = None,
        final: Sequence[type[Exception]] = (),
    ) -> tasks.LambdaInvoke:
        """A compensation: the order (or ``payload``) in, retried on any error but the
        ``final`` business errors it may raise, which retrying cannot fix."""
        task = self._invoke(
            id, function, result_path, input_path=None if payload else ORDER, payload=payload
        )
        if final:
            task.add_retry(errors=error_names(*final), max_attempts=0)
        task.add_retry(**COMPENSATION_RETRY)
        return task

    def _invoke(
        self,
        id: str,
        function: lambda_.IFunction,
        result_path: str,
        *,
        input_path: str | None = None,
        payload: sfn.TaskInput | None = None,
    ) -> tasks.LambdaInvoke:
        """Calls ``function`` with ``input_path`` of the state (or ``payload``) and stores its
        return value (not the Invoke API response) at ``result_path``; a throttled call waits
        for a slot (``THROTTLE_RETRY``)."""
        task = tasks.LambdaInvoke(
            self,
            id,
            lambda_function=function,
            input_path=input_path,
            payload=payload,
            payload_response_only=True,
            retry_on_service_exceptions=False,  # the retriers below and the caller's cover them
            result_path=result_path,
        )
        task.add_retry(**THROTTLE_RETRY)  # first: a retrier's errors are matched in order
        return task

    def _start_on_order_placed(self, bus: events.IEventBus) -> events.Rule:
        """``orderflow.orders``/``OrderPlaced`` -> an execution whose input is the whole
        EventBridge event; what cannot be delivered goes to ``rule_dlq``."""
        rule = events.Rule(
            self,
            "OrderPlaced",
            event_bus=bus,
            event_pattern=events.EventPattern(source=[ORDERS_SOURCE], detail_type=[ORDER_PLACED]),
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                dead_letter_queue=self.rule_dlq,
                retry_attempts=RULE_RETRY_ATTEMPTS,
                max_event_age=RULE_MAX_EVENT_AGE,
            )
        )
        return rule


def _suppress_findings(state_machine: sfn.StateMachine) -> None:
    """What cdk-nag reports on the state machine and does not apply to it."""
    suppress(
        state_machine,
        "AwsSolutions-SF1",
        "logs failures only (ERROR): every state's input and output is in the execution "
        "history already, and ALL would cost a log write per state transition",
    )
    policy = default_policy(state_machine.role)
    suppress(
        policy,
        "AwsSolutions-IAM5",
        "X-Ray's actions and the CloudWatch Logs delivery actions of Step Functions logging "
        "take no resource-level permissions",
        applies_to=["Resource::*"],
    )
    suppress(
        policy,
        "AwsSolutions-IAM5",
        "LambdaInvoke grants each step's function and its versions and aliases (<ARN>:*)",
        applies_to=[ANY_FUNCTION_VERSION],
    )


def _catch(state: sfn.TaskStateBase, handler: sfn.IChainable, *errors: type[Exception]) -> None:
    """On ``errors`` (any error by default) keep the state, add ``$.error``, go to ``handler``."""
    names: Sequence[str] = error_names(*errors) if errors else [sfn.Errors.ALL]
    state.add_catch(handler, errors=list(names), result_path=ERROR_PATH)
