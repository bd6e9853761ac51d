"""Resilience settings of a stage: the payment provider's client, its circuit breaker, and the
bulkheads (reserved concurrency, SQS ``MaximumConcurrency``). ``DeploymentConfig.resilience``
holds them, a settings section (``infra/sections.py``): the defaults below are dev's (and every
stage's but prod), ``stage_defaults`` gives what prod changes, and context
``orderflow:resilience`` (a JSON object, snake_case keys, any subset) overrides them, e.g.
``-c orderflow:resilience='{"bulkheads": {"account_concurrency": 10}}'``.

The numbers and their reasoning: docs/resilience/breaker.md and docs/resilience/bulkheads.md.
"""

from typing import Any

from aws_cdk import Annotations, IAspect, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct
from jsii import implements
from pydantic import Field, model_validator

from infra.sections import ConfigSection

AWS_MIN_UNRESERVED = 100
"""Lambda refuses a reservation that leaves the account fewer unreserved executions than this."""


class ProviderClientConfig(ConfigSection):
    """The payment provider's client (AuthorizePayment)."""

    call_deadline_ms: int = Field(default=1_500, ge=100, le=8_000)
    """A call not answered by then is abandoned and counts as a transient failure; well below
    the AuthorizePayment timeout (10 s), so a slow provider costs a call 1.5 s (prod: 2 s), not
    10."""

    slow_latency_ms: int = Field(default=30_000, ge=0)
    """The simulated provider's answer time in mode ``slow`` (longer than the deadline)."""

    mode_max_age_seconds: int = Field(default=2, ge=0, le=300)
    """How long an execution environment caches the provider mode read from SSM."""


class BreakerConfig(ConfigSection):
    """The circuit breaker in front of the payment provider."""

    failure_threshold: int = Field(default=3, ge=1)
    window_seconds: int = Field(default=10, ge=1, le=3_600)
    cooldown_seconds: int = Field(default=5, ge=1, le=3_600)
    probe_lease_seconds: int = Field(default=15, ge=1, le=3_600)
    """Longer than the AuthorizePayment timeout: a live probe keeps its lease."""


class BulkheadConfig(ConfigSection):
    """Concurrency limits that keep one slow dependency or one flooded queue from taking the
    capacity order intake (``POST /orders``) and the other consumers need."""

    reserved_concurrency: bool = True
    """Switch: reserve concurrency for the functions below (off: ``max_concurrency`` only)."""

    account_concurrency: int = Field(default=1_000, ge=1)
    """The account's Lambda concurrency quota (AWS default 1000; a new account may have 10).
    When the reservations would leave fewer than 100 unreserved, none is applied (a warning
    says so) and the deploy goes through with ``max_concurrency`` alone."""

    authorize_payment: int = Field(default=3, ge=1)
    """Reserved concurrency of AuthorizePayment: how many slow provider calls can be in flight."""

    void_payment: int = Field(default=2, ge=1)
    """Reserved concurrency of VoidPayment (compensations, retried until done)."""

    queue_consumer: int = Field(default=2, ge=2)
    """Reserved concurrency of each SQS queue consumer (>= ``max_concurrency``)."""

    max_concurrency: int = Field(default=2, ge=2, le=1_000)
    """``MaximumConcurrency`` of every SQS event source (AWS minimum 2)."""

    @model_validator(mode="after")
    def _reservation_covers_the_pollers(self) -> "BulkheadConfig":
        if self.queue_consumer < self.max_concurrency:
            raise ValueError(
                "bulkheads.queue_consumer must be >= bulkheads.max_concurrency: the event "
                "source would invoke more than the function may run, and be throttled"
            )
        return self


class ResilienceConfig(ConfigSection):
    """The payment provider's client, its circuit breaker, and the bulkheads."""

    provider: ProviderClientConfig = ProviderClientConfig()
    breaker: BreakerConfig = BreakerConfig()
    bulkheads: BulkheadConfig = BulkheadConfig()

    @model_validator(mode="after")
    def _probe_outlives_its_call(self) -> "ResilienceConfig":
        if self.breaker.probe_lease_seconds * 1000 <= self.provider.call_deadline_ms:
            raise ValueError("breaker.probe_lease_seconds must exceed provider.call_deadline_ms")
        return self

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        """The fields' defaults are dev's (and every stage's but prod): small, so the
        emulator's tests see the breaker and the bulkheads act within seconds; prod is sized
        for traffic (docs/resilience/bulkheads.md)."""
        return _PROD if stage == "prod" else {}


_PROD: dict[str, Any] = {
    "provider": {"call_deadline_ms": 2_000, "mode_max_age_seconds": 5},
    "breaker": {
        "failure_threshold": 10,
        "window_seconds": 30,
        "cooldown_seconds": 15,
        "probe_lease_seconds": 15,
    },
    "bulkheads": {
        "authorize_payment": 50,
        "void_payment": 10,
        "queue_consumer": 10,
        "max_concurrency": 10,
    },
}


def reserve(function: lambda_.Function, executions: int, bulkheads: BulkheadConfig) -> None:
    """Reserve ``executions`` for ``function`` when the switch is on (``ReservationBudget``
    takes them all back if the account cannot afford them)."""
    if bulkheads.reserved_concurrency:
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.reserved_concurrent_executions = executions


@implements(IAspect)
class ReservationBudget:
    """Checks the stack's reservations against the account: if they would leave fewer than
    ``AWS_MIN_UNRESERVED`` executions unreserved (Lambda would fail the deploy), removes them
    all and warns; the SQS event sources keep their ``MaximumConcurrency``."""

    def __init__(self, bulkheads: BulkheadConfig) -> None:
        self._budget = bulkheads.account_concurrency - AWS_MIN_UNRESERVED

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, Stack):
            return
        reserved = [
            child
            for child in node.node.find_all()
            if isinstance(child, lambda_.CfnFunction)
            and isinstance(child.reserved_concurrent_executions, int)
        ]
        total = sum(int(child.reserved_concurrent_executions or 0) for child in reserved)
        if not reserved or total <= self._budget:
            return
        for child in reserved:
            child.reserved_concurrent_executions = None
        Annotations.of(node).add_warning_v2(
            "orderflow:reservedConcurrencyDropped",
            f"reserved concurrency off: the stack would reserve {total} executions and the "
            f"account ({self._budget + AWS_MIN_UNRESERVED}) must keep {AWS_MIN_UNRESERVED} "
            "unreserved; SQS MaximumConcurrency still bounds the consumers",
        )
