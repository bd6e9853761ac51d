"""How long the saga waits: the one place its timeouts come from
(``DeploymentConfig.saga_timeouts``).

Every stage (prod included) uses the defaults below unless its context overrides them, e.g.
``cdk deploy -c orderflow:sagaTimeouts='{"shipment_seconds": 120}'`` (snake_case keys, as
``orderflow:usagePlans``), or the environment variable
``ORDERFLOW_SAGA_TIMEOUTS='{"shipment_seconds": 120}'``. Tests do not shorten them
in the template: the emulator kit scales Step Functions time at run time instead
(``POST /_orderflow/time-scale``, docs/resilience/timeouts.md), so the template tested is the one
that deploys to AWS.

- ``shipment_seconds`` (60): ScheduleShipment's wait for the shipping worker's
  ``SendTaskSuccess`` (``TimeoutSeconds`` of the ``.waitForTaskToken`` task); then
  ``States.Timeout`` -> VoidPayment -> ReleaseInventory -> CancelOrder ``SHIPMENT_TIMEOUT``;
- ``shipment_heartbeat_seconds`` (none): ``HeartbeatSeconds`` of that task, for a worker that
  sends ``SendTaskHeartbeat`` while it works (``States.HeartbeatTimeout``, same compensation);
  none: the worker answers once, and sends no heartbeat;
- ``payment_confirmation_seconds`` (300): AwaitPaymentConfirmation's wait for the payment
  provider's webhook (``TimeoutSeconds`` of its ``lambda:invoke.waitForTaskToken`` task), for
  a PENDING authorisation (``tok_async``); then ``States.Timeout`` -> VoidPayment ->
  ReleaseInventory -> CancelOrder ``PAYMENT_TIMEOUT``. Five minutes: a provider's asynchronous
  answer (a card network's, a 3-D Secure challenge's) comes within seconds to a few minutes,
  and its own retries of a failed webhook call start within a minute; the sandbox provider
  answers after ``payment_webhook.confirmation_delay_seconds`` (3 s on dev, 20 s elsewhere);
  the order's stock stays reserved meanwhile, so not much longer;
- ``execution_minutes`` (30): the whole execution (the state machine's ``TimeoutSeconds``),
  ample for the retries' backoff (a compensation may take ~4 minutes).

The saga has no Wait state, and its Lambda steps have no ``TimeoutSeconds`` of their own: each
is bounded by its function's timeout, and the Lambda service errors it then raises are retried.
"""

from aws_cdk import Duration
from pydantic import Field, model_validator

from infra.sections import ConfigSection

SHIPMENT_SECONDS = 60
PAYMENT_CONFIRMATION_SECONDS = 300
EXECUTION_MINUTES = 30


class SagaTimeouts(ConfigSection):
    """The saga's waits and timeouts (see the module's table)."""

    shipment_seconds: int = Field(default=SHIPMENT_SECONDS, ge=1, le=86_400)
    """ScheduleShipment's wait for the shipping worker (seconds)."""

    shipment_heartbeat_seconds: int | None = Field(default=None, ge=1)
    """ScheduleShipment's heartbeat timeout (seconds), shorter than ``shipment_seconds``."""

    payment_confirmation_seconds: int = Field(default=PAYMENT_CONFIRMATION_SECONDS, ge=1, le=86_400)
    """AwaitPaymentConfirmation's wait for the payment provider's webhook (seconds)."""

    execution_minutes: int = Field(default=EXECUTION_MINUTES, ge=1, le=60 * 24 * 365)
    """The whole execution's timeout (minutes), longer than the shipment's wait."""

    @model_validator(mode="after")
    def _nested_in_order(self) -> "SagaTimeouts":
        heartbeat = self.shipment_heartbeat_seconds
        if heartbeat is not None and heartbeat >= self.shipment_seconds:
            raise ValueError(
                f"shipment_heartbeat_seconds ({heartbeat}) must be shorter than "
                f"shipment_seconds ({self.shipment_seconds})"
            )
        waits = self.shipment_seconds + self.payment_confirmation_seconds
        if self.execution_minutes * 60 <= waits:
            raise ValueError(
                f"execution_minutes ({self.execution_minutes}) must outlast shipment_seconds "
                f"({self.shipment_seconds}) and payment_confirmation_seconds "
                f"({self.payment_confirmation_seconds}) together"
            )
        return self

    @property
    def shipment(self) -> Duration:
        return Duration.seconds(self.shipment_seconds)

    @property
    def shipment_heartbeat(self) -> Duration | None:
        seconds = self.shipment_heartbeat_seconds
        return None if seconds is None else Duration.seconds(seconds)

    @property
    def payment_confirmation(self) -> Duration:
        return Duration.seconds(self.payment_confirmation_seconds)

    @property
    def execution(self) -> Duration:
        return Duration.minutes(self.execution_minutes)
