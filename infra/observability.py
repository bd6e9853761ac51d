"""Alarms, the alerts topic and the dashboard: what tells a person that orderflow needs them.

Every alarm sends both its ALARM and its OK transition to one SNS topic (``alerts``; output
``AlertsTopicArn``): people subscribe to it (email, chat) on AWS; a non-production stage also
subscribes an SQS queue, the alerts inbox, so a delivered alert can be read offline (on the
emulator, where nothing sends mail) and by ``orderflow alerts``.

- ``dlq-<queue>``, one per DLQ: AWS/SQS ``ApproximateNumberOfMessagesVisible`` (Maximum) > 0
  in one period. A DLQ holds only what failed every retry: one message is an order, a
  notification or an audit entry that needs a person (``orderflow dlq``).
- ``saga-failed`` / ``saga-timed-out``: AWS/States ``ExecutionsFailed`` / ``ExecutionsTimedOut``
  (Sum) >= 1 in one period. The saga ends every business outcome in a Succeed state (a
  cancelled order is a success); a failed execution is a compensation that could not finish
  (OrderStateConflict) or a malformed OrderPlaced, a timed-out one outlived
  ``execution_minutes``.
- ``errors-<service>-<function>``, one per function, grouped by service: AWS/Lambda ``Errors``
  (Sum) >= ``lambda_errors_threshold`` in ``datapoints_to_alarm`` of ``evaluation_periods``.
  Saga steps raise their business errors (OutOfStock, PaymentDeclined) as Lambda errors by
  design (Step Functions catches them by name): a few per period are normal, a burst is not.
- ``order-latency``: orderflow ``OrderCompletionLatency`` (``latency_statistic``, p90) >
  ``latency_objective_seconds``, M of N: the objective for POST /orders -> CONFIRMED.
- ``payment-breaker-open``: orderflow ``BreakerOpen`` (dependency ``payment-provider``,
  Maximum) >= 1 in one period: the breaker fails payments fast, and orders are cancelled
  PAYMENT_UNAVAILABLE until it closes.

Missing data is not breaching: no traffic, nothing wrong. The settings (``AlertsConfig``,
``DeploymentConfig.alerts``) differ by stage; see their docstrings.

The dashboard (output ``DashboardName``) draws orders placed, confirmed and cancelled by
reason, the completion latency (p50, p90, p99), the saga's outcomes, every DLQ's depth, each
service's Lambda errors and duration, the payment breaker, and the alarms. Its body is the one
definition: ``orderflow dashboard --html`` renders it from ``GetDashboard``.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from pydantic import Field, model_validator

from infra.contracts import CANCELLATION_REASONS, METRICS_NAMESPACE
from infra.queues import dead_letter_queue
from infra.sections import ConfigSection

ORDERS_SERVICE = "orders"
PAYMENT_PROVIDER = "payment-provider"
"""The breaker's dependency dimension (``functions/payments/resilience.py``)."""
LATENCY_METRIC = "OrderCompletionLatency"
BREAKER_METRIC = "BreakerOpen"
SHORT_PERIOD_STAGES = ("dev",)


class AlertsConfig(ConfigSection):
    """How the alarms judge and whom they tell (``DeploymentConfig.alerts``).

    Defaults (every stage but dev): 5-minute periods, 3 evaluation periods of which 2 must
    breach for the error and latency alarms (a blip is not an incident), no inbox queue.
    dev: 1-minute periods, 1 of 1, and the inbox, so that an alarm on the emulator fires
    within a minute or two of its cause (the integration tests wait for it) and a person
    trying the stack sees it at once. A minute is CloudWatch's shortest period for the
    standard-resolution metrics the alarms read (SQS and Lambda publish per minute).
    The DLQ, saga and breaker alarms always judge one period: one dead letter is enough.
    """

    period_seconds: int = Field(default=300, ge=60)
    """Length of one evaluation period; a multiple of 60."""

    evaluation_periods: int = Field(default=3, ge=1, le=100)
    """Periods the error and latency alarms look back over."""

    datapoints_to_alarm: int = Field(default=2, ge=1)
    """Of those, how many must breach (M of N)."""

    latency_objective_seconds: float = Field(default=30, gt=0)
    """The objective for an order's POST -> CONFIRMED (``OrderCompletionLatency``)."""

    latency_statistic: Literal["p50", "p90", "p95", "p99", "Average", "Maximum"] = "p90"
    """The statistic held to the objective."""

    lambda_errors_threshold: int = Field(default=5, ge=1)
    """Errors of one function in a period that breach (business errors are Lambda errors)."""

    inbox: bool = False
    """Subscribe an SQS queue (output ``AlertsInboxUrl``) to the alerts topic."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        if stage in SHORT_PERIOD_STAGES:
            return {
                "period_seconds": 60,
                "evaluation_periods": 1,
                "datapoints_to_alarm": 1,
                "inbox": True,
            }
        return {}

    @model_validator(mode="after")
    def _consistent(self) -> "AlertsConfig":
        if self.period_seconds % 60:
            raise ValueError(f"period_seconds ({self.period_seconds}) must be a multiple of 60")
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) cannot exceed "
                f"evaluation_periods ({self.evaluation_periods})"
            )
        return self

    @property
    def period(self) -> Duration:
        return Duration.seconds(self.period_seconds)


class Observability(Construct):
    """The alerts topic, the stack's alarms and its dashboard.

    Attributes:
        topic: the alerts topic every alarm acts on (ALARM and OK).
        inbox: the queue subscribed to it (``config.inbox``), else None.
        alarms: every alarm, by its short name (``dlq-<queue>``, ``saga-failed``, ...).
        dashboard: the CloudWatch dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AlertsConfig,
        name_prefix: str,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, Mapping[str, lambda_.IFunction]],
        state_machine: sfn.IStateMachine,
    ) -> None:
        """
        Args:
            config: periods, thresholds, the latency objective, the inbox.
            name_prefix: alarm and dashboard names start with it (``orderflow-<stage>``).
            dead_letter_queues: every DLQ of the stack, by a short name.
            functions: the Lambda functions, by service then short name.
            state_machine: the order-fulfilment saga.
        """
        super().__init__(scope, id)
        self._config = config
        self._prefix = name_prefix
        self.topic = sns.Topic(
            self, "Alerts", display_name=f"{name_prefix} alerts", enforce_ssl=True
        )
        self.inbox = self._inbox() if config.inbox else None
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if self.inbox is not None:  # the subscription's DLQ is a DLQ of the stack too
            assert self.inbox.dead_letter_queue is not None
            dead_letter_queues = {
                **dead_letter_queues,
                "alerts-inbox": self.inbox.dead_letter_queue.queue,
            }

        depths = {
            name: _queue_depth(queue, config.period) for name, queue in dead_letter_queues.items()
        }
        for name, depth in depths.items():
            self._alarm(
                f"dlq-{name}",
                depth,
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"a message is in the dead-letter queue {name}: `orderflow dlq`",
            )
        outcomes = {
            outcome: _saga_metric(state_machine, outcome, config.period)
            for outcome in ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
        }
        self._alarm(
            "saga-failed",
            outcomes["ExecutionsFailed"],
            threshold=1,
            description="a saga execution failed: a compensation could not finish, or a "
            "malformed OrderPlaced",
        )
        self._alarm(
            "saga-timed-out",
            outcomes["ExecutionsTimedOut"],
            threshold=1,
            description="a saga execution outlived its timeout",
        )
        errors: dict[str, dict[str, cloudwatch.Metric]] = {}
        durations: dict[str, dict[str, cloudwatch.Metric]] = {}
        for service, by_name in functions.items():
            for name, function in by_name.items():
                errors.setdefault(service, {})[name] = function.metric_errors(
                    period=config.period, statistic="Sum"
                )
                durations.setdefault(service, {})[name] = function.metric_duration(
                    period=config.period, statistic="p90"
                )
                self._alarm(
                    f"errors-{service}-{name}",
                    errors[service][name],
                    threshold=config.lambda_errors_threshold,
                    periods=config.evaluation_periods,
                    datapoints=config.datapoints_to_alarm,
                    description=f"Lambda errors of {service}'s {name} above "
                    f"{config.lambda_errors_threshold} per {config.period_seconds} s",
                )
        latency = _orders_metric(LATENCY_METRIC, config.latency_statistic, config.period)
        self._alarm(
            "order-latency",
            latency,
            threshold=config.latency_objective_seconds * 1000,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=config.evaluation_periods,
            datapoints=config.datapoints_to_alarm,
            description=f"order completion latency ({config.latency_statistic}, POST -> "
            f"CONFIRMED) over its objective of {config.latency_objective_seconds:g} s",
        )
        breaker = _breaker_metric("Maximum", config.period)
        self._alarm(
            "payment-breaker-open",
            breaker,
            threshold=1,
            description="the payment provider's circuit breaker is open: payments fail fast",
        )
        self.dashboard = self._dashboard(depths, outcomes, errors, durations)

    # --- alarms ---------------------------------------------------------------------------

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        periods: int = 1,
        datapoints: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{name}",
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm

    def _inbox(self) -> sqs.Queue:
        """An SQS queue subscribed to the alerts topic: where a stage without a person's
        subscription keeps its alerts (read by ``orderflow alerts``). What SNS cannot deliver
        to it goes to its DLQ (a redrive policy of the subscription)."""
        dlq = dead_letter_queue(self, "InboxDlq")
        inbox = sqs.Queue(
            self,
            "Inbox",
            retention_period=Duration.days(14),
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
        )
        self.topic.add_subscription(subscriptions.SqsSubscription(inbox, dead_letter_queue=dlq))
        return inbox

    # --- dashboard ------------------------------------------------------------------------

    def _dashboard(
        self,
        depths: Mapping[str, cloudwatch.Metric],
        outcomes: Mapping[str, cloudwatch.Metric],
        errors: Mapping[str, Mapping[str, cloudwatch.Metric]],
        durations: Mapping[str, Mapping[str, cloudwatch.Metric]],
    ) -> cloudwatch.Dashboard:
        period = self._config.period
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self._prefix,
            default_interval=Duration.hours(3),
        )
        orders = [
            _orders_metric(name, "Sum", period, label=label)
            for name, label in (("OrdersPlaced", "placed"), ("OrdersConfirmed", "confirmed"))
        ]
        cancelled = [
            _orders_metric("OrdersCancelled", "Sum", period, label=reason, reason=reason)
            for reason in CANCELLATION_REASONS
        ]
        latency = [
            _orders_metric(LATENCY_METRIC, stat, period, label=stat)
            for stat in ("p50", "p90", "p99")
        ]
        objective = cloudwatch.HorizontalAnnotation(
            value=self._config.latency_objective_seconds * 1000, label="objective"
        )
        dashboard.add_widgets(
            _graph("Orders placed and confirmed", orders),
            _graph("Orders cancelled, by reason", cancelled, stacked=True),
            _graph("Order completion latency (ms)", latency, annotations=[objective]),
        )
        dashboard.add_widgets(
            _graph(
                "Saga outcomes",
                [m.with_(label=n.removeprefix("Executions")) for n, m in outcomes.items()],
            ),
            _graph("Dead-letter queue depths", _labelled(depths)),
            _graph(
                "Payment breaker",
                [
                    _breaker_metric("Maximum", period, label="open (1) / closed (0)"),
                    _breaker_metric(
                        "Sum", period, metric="BreakerRejected", label="calls failed fast"
                    ),
                ],
            ),
        )
        for service in sorted(errors):
            dashboard.add_widgets(
                _graph(f"{service}: Lambda errors", _labelled(errors[service]), width=12),
                _graph(
                    f"{service}: Lambda duration p90 (ms)",
                    _labelled(durations[service]),
                    width=12,
                ),
            )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24, height=6
            )
        )
        return dashboard


def _labelled(metrics: Mapping[str, cloudwatch.Metric]) -> list[cloudwatch.IMetric]:
    """The metrics, each labelled with its name (a graph's legend). Alarms take them without:
    an alarm on a labelled metric is rendered as a metric-math query, which the emulator's
    CloudWatch does not evaluate."""
    return [metric.with_(label=name) for name, metric in metrics.items()]


def _graph(
    title: str,
    metrics: Sequence[cloudwatch.IMetric],
    *,
    width: int = 8,
    stacked: bool = False,
    annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        width=width,
        height=6,
        stacked=stacked,
        left_annotations=list(annotations) or None,
    )


def _queue_depth(queue: sqs.IQueue, period: Duration) -> cloudwatch.Metric:
    return queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum")


def _saga_metric(
    state_machine: sfn.IStateMachine, name: str, period: Duration
) -> cloudwatch.Metric:
    return state_machine.metric(name, period=period, statistic="Sum")


def _orders_metric(
    name: str,
    statistic: str,
    period: Duration,
    *,
    label: str | None = None,
    reason: str | None = None,
) -> cloudwatch.Metric:
    dimensions = {"service": ORDERS_SERVICE, **({"reason": reason} if reason else {})}
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
        label=label,
    )


def _breaker_metric(
    statistic: str, period: Duration, *, metric: str = BREAKER_METRIC, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric,
        dimensions_map={"dependency": PAYMENT_PROVIDER},
        statistic=statistic,
        period=period,
        label=label,
    )
