"""Payments: the payments table and the saga's authorise / void steps."""

from aws_cdk import aws_events as events
from constructs import Construct

from infra.domain import DomainFunctions, domain_table
from infra.lambda_defaults import FunctionDefaults


class Payments(Construct):
    """Authorisations against a simulated provider (table ``PAYMENTS_TABLE``:
    ``AUTH#<orderId>``/``AUTH``, ``PROVIDER#<orderId>``/``ATTEMPTS``).

    Attributes:
        table: the payments table.
        authorize: saga step AuthorizePayment.
        void: saga compensation VoidPayment.
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
