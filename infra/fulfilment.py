"""Order fulfilment: the domain services, the saga that coordinates them, and their API."""

from aws_cdk import aws_events as events
from constructs import Construct

from infra.api import OrdersApi
from infra.identity import Identity
from infra.inventory import Inventory
from infra.lambda_defaults import FunctionDefaults
from infra.notifications import Notifications
from infra.orders import Orders
from infra.payments import Payments
from infra.reconciler import Reconciler
from infra.saga import FulfilmentSaga, SagaSteps
from infra.shipping import Shipping
from infra.webhooks import Webhooks


class OrderFulfilment(Construct):
    """Composes the services around the bus; each service owns its table(s) and functions.

    Attributes:
        inventory, orders, payments, shipping, notifications: the services.
        saga: the order-fulfilment state machine and the rule that starts it.
        api: the orders API.
        webhooks: webhook subscriptions (on the orders API), their fan-out and delivery.
        identity: the customer-token issuer (dev signing key, JWKS) the API verifies against.
        reconciler: the scheduled reconciler (stuck outbox items, orders, reservations,
            payments).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
    ) -> None:
        """
        Args:
            bus: the bus every service publishes to and the rules listen on.
            defaults: the stack's shared config and layer.
        """
        super().__init__(scope, id)
        self.inventory = Inventory(self, "Inventory", bus=bus, defaults=defaults)
        self.orders = Orders(self, "Orders", bus=bus, defaults=defaults)
        self.payments = Payments(
            self, "Payments", bus=bus, orders_table=self.orders.table, defaults=defaults
        )
        self.shipping = Shipping(self, "Shipping", bus=bus, defaults=defaults)
        self.notifications = Notifications(self, "Notifications", bus=bus, defaults=defaults)
        self.saga = FulfilmentSaga(
            self, "Saga", bus=bus, steps=self._saga_steps(), config=defaults.config
        )
        # customer identity: tokens verified by the functions that act for a customer
        self.identity = Identity(self, "Identity", defaults=defaults)
        for customer_route in (self.orders.place_order, self.orders.get_order):
            self.identity.verify_tokens(customer_route)
        self.api = OrdersApi(
            self,
            "Api",
            place_order=self.orders.place_order,
            get_order=self.orders.get_order,
            list_products=self.inventory.list_products,
            config=defaults.config,
            jwks=self.identity.jwks,
            payment_webhook=self.payments.webhook,
        )
        self.payments.call_webhook_at(self.api.rest_api.url_for_path("/webhooks/payments"))
        # outgoing webhooks: subscriptions on the orders API, deliveries through queues
        self.webhooks = Webhooks(self, "Webhooks", bus=bus, defaults=defaults)
        self.webhooks.serve(self.api.rest_api, self.api.access)
        self.reconciler = Reconciler(
            self,
            "Reconciler",
            orders_table=self.orders.table,
            products_table=self.inventory.table,
            payments_table=self.payments.table,
            state_machine=self.saga.state_machine,
            bus=bus,
            defaults=defaults,
        )

    def _saga_steps(self) -> SagaSteps:
        return SagaSteps(
            record_order=self.orders.record_order,
            reserve_inventory=self.inventory.reserve,
            authorize_payment=self.payments.authorize,
            await_payment_confirmation=self.payments.await_confirmation,
            payment_confirmers=self.payments.confirmer_roles(),
            confirm_order=self.orders.confirm_order,
            commit_inventory=self.inventory.commit,
            void_payment=self.payments.void,
            release_inventory=self.inventory.release,
            cancel_order=self.orders.cancel_order,
            shipment_requests=self.shipping.requests.queue,
            shipping_worker=self.shipping.scheduler,
        )
