"""Payments: the payments table and the saga's authorise / void steps."""

from aws_cdk import Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.domain import DomainFunctions, domain_table
from infra.lambda_defaults import SERVICE_TAG, FunctionDefaults
from infra.resilience import reserve

PROVIDER_MODES = ("up", "down", "slow")
PARAMETER_TAG = "orderflow:parameter"
"""Tag of the provider-mode parameter (``provider-mode``, with ``orderflow:service``
``payments``): the offline FIS action ``orderflow:payments:provider-mode`` targets it by these
tags (``aws:ssm:parameter``), so one experiment file fits every stage."""


class Payments(Construct):
    """Authorisations against a simulated provider (table ``PAYMENTS_TABLE``:
    ``AUTH#<orderId>``/``AUTH``, ``PROVIDER#<orderId>``/``ATTEMPTS``, and the circuit breaker's
    ``BREAKER#payment-provider``/``BREAKER``).

    Attributes:
        table: the payments table.
        authorize: saga step AuthorizePayment (reserved concurrency: a bulkhead).
        void: saga compensation VoidPayment (reserved concurrency: a bulkhead).
        provider_mode: SSM parameter ``/orderflow/<stage>/payments/provider-mode`` (``up``,
            ``down`` or ``slow``; created ``up``), read by AuthorizePayment.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
        provider_latency_ms: int = 30,
        provider_flaky_failures: int = 2,
    ) -> None:
        """
        Args:
            bus: where ``Payment*`` events are published.
            defaults: the stack's shared config and layer.
            provider_latency_ms: simulated provider round trip per call.
            provider_flaky_failures: calls per order that payment token ``tok_flaky`` fails
                (``ProviderUnavailable``) before it succeeds; the saga retries it.
        """
        super().__init__(scope, id)
        self.table = domain_table(self, "Table", config=defaults.config)
        environment = {
            "PAYMENTS_TABLE": self.table.table_name,
            "EVENT_BUS_NAME": bus.event_bus_name,
            "PROVIDER_LATENCY_MS": str(provider_latency_ms),
            "PROVIDER_FLAKY_FAILURES": str(provider_flaky_failures),
        }

        function = DomainFunctions(
            self, service="payments", defaults=defaults, environment=environment
        )
        self.authorize = function("Authorize", "authorize_payment", "saga step AuthorizePayment")
        self.void = function("Void", "void_payment", "saga compensation VoidPayment")
        for step in (self.authorize, self.void):
            self.table.grant_read_write_data(step)
            bus.grant_put_events_to(step)

        # --- resilience: the provider's mode, its client and breaker, the bulkheads ---
        resilience = defaults.config.resilience
        self.provider_mode = ssm.StringParameter(
            self,
            "ProviderMode",
            parameter_name=f"/orderflow/{defaults.config.stage}/payments/provider-mode",
            string_value="up",
            allowed_pattern=f"^({'|'.join(PROVIDER_MODES)})$",
            description="orderflow: the simulated payment provider's mode: up, down or slow",
        )
        Tags.of(self.provider_mode).add(SERVICE_TAG, "payments")
        Tags.of(self.provider_mode).add(PARAMETER_TAG, "provider-mode")
        self.provider_mode.grant_read(self.authorize)
        provider, breaker = resilience.provider, resilience.breaker
        for name, value in {
            "PROVIDER_MODE_PARAMETER": self.provider_mode.parameter_name,
            "PROVIDER_MODE_MAX_AGE_SECONDS": provider.mode_max_age_seconds,
            "PROVIDER_CALL_DEADLINE_MS": provider.call_deadline_ms,
            "PROVIDER_SLOW_LATENCY_MS": provider.slow_latency_ms,
            "BREAKER_FAILURE_THRESHOLD": breaker.failure_threshold,
            "BREAKER_WINDOW_SECONDS": breaker.window_seconds,
            "BREAKER_COOLDOWN_SECONDS": breaker.cooldown_seconds,
            "BREAKER_PROBE_LEASE_SECONDS": breaker.probe_lease_seconds,
        }.items():
            self.authorize.add_environment(name, str(value))
        bulkheads = resilience.bulkheads
        reserve(self.authorize, bulkheads.authorize_payment, bulkheads)
        reserve(self.void, bulkheads.void_payment, bulkheads)
