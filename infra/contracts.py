"""What the infrastructure and the function code must agree on, taken from the function code.

The saga's ``Retry`` and ``Catch`` match the class name the Lambda runtime reports for an
exception; the bus rules match the ``source`` and ``detail-type`` the services publish; the
outbox relay's stream filter matches the markers the orders service writes. Each of them is
imported here from where ``functions/`` defines it (``functions/`` is on ``sys.path``: see
``infra/__init__.py``), so renaming one side cannot silently break the other. Every other infra
module takes these names from this one, and nothing else in infra imports function code.
"""

from edge.http import API_KEY_HEADER
from inventory import events as inventory_events
from inventory.errors import InventoryBusy, OutOfStock, ReservationNotFound, ReservationReleased
from notifications import events as notifications_events
from orders import events as orders_events
from orders.errors import OrderNotFound, OrderStateConflict, SagaAlreadyStarted
from orders.logic.follow import WAIT_CEILING_SECONDS
from orders.logic.lifecycle import DEFAULT_REASON, REASON_BY_ERROR
from orders.models import OUTBOX_PENDING, OUTBOX_SK
from payments import events as payments_events
from payments.errors import CircuitOpen, PaymentDeclined, PaymentTimeout, ProviderUnavailable
from payments.models import AuthorizationStatus
from shared_kernel.errors import BusinessError, MalformedEventError, TransientError
from shared_kernel.observability import METRICS_NAMESPACE
from shared_kernel.publisher import PublishError
from shipping import events as shipping_events

__all__ = [
    "API_KEY_HEADER",
    "CANCELLATION_REASONS",
    "CATALOGUE_EVENTS",
    "EVENT_SOURCES",
    "INVENTORY_SOURCE",
    "METRICS_NAMESPACE",
    "ORDERS_SOURCE",
    "ORDER_OUTCOMES",
    "ORDER_PLACED",
    "OUTBOX_PENDING",
    "OUTBOX_SK",
    "PAYMENT_PENDING",
    "PRODUCT_PRICED",
    "SOURCE_PREFIX",
    "WAIT_CEILING_SECONDS",
    "WEBHOOK_EVENT_TYPES",
    "WEBHOOK_REDACTED_FIELDS",
    "BusinessError",
    "CircuitOpen",
    "InventoryBusy",
    "MalformedEventError",
    "OrderNotFound",
    "OrderStateConflict",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentTimeout",
    "ProviderUnavailable",
    "PublishError",
    "ReservationNotFound",
    "ReservationReleased",
    "SagaAlreadyStarted",
    "TransientError",
    "error_names",
]

SOURCE_PREFIX = "orderflow."
"""The namespace of every service's event source (``orderflow.<service>``): the projector's
rule matches it. Infra's convention, which every ``EVENT_SOURCES`` entry follows (checked by
``tests/infra/test_contracts.py``)."""

EVENT_SOURCES = (
    orders_events.SOURCE,
    inventory_events.SOURCE,
    payments_events.SOURCE,
    shipping_events.SOURCE,
)
"""The ``source`` of each service that publishes to the bus."""

ORDERS_SOURCE = orders_events.SOURCE
ORDER_PLACED = orders_events.ORDER_PLACED
"""The event that starts the saga (``orderflow.orders`` / ``OrderPlaced``)."""

INVENTORY_SOURCE = inventory_events.SOURCE
PRODUCT_PRICED = inventory_events.PRODUCT_PRICED
"""Inventory's published prices (``orderflow.inventory`` / ``ProductPriced``): orders keeps its
copy of the catalogue from them."""
CATALOGUE_EVENTS = inventory_events.CATALOGUE_EVENTS
"""Events about products, not orders: the order projector's rule leaves them out."""

ORDER_OUTCOMES = (notifications_events.ORDER_CONFIRMED, notifications_events.ORDER_CANCELLED)
"""The detail-types the notifications service consumes (through the order-outcomes topic)."""

PAYMENT_PENDING = AuthorizationStatus.PENDING.value
"""AuthorizePayment's ``status`` when the provider confirms later: the saga then waits in
AwaitPaymentConfirmation (a ``PaymentTimeout`` when it does not come in time)."""

CANCELLATION_REASONS = tuple(sorted({*REASON_BY_ERROR.values(), DEFAULT_REASON}))
"""The ``reason`` dimension values of orders' ``OrdersCancelled`` metric (CancelOrder derives the
reason from the error the saga caught): the dashboard draws one line per reason."""


# -- outgoing webhooks ------------------------------------------------------------------------

WEBHOOK_EVENT_TYPES = (
    orders_events.ORDER_PLACED,
    orders_events.ORDER_CONFIRMED,
    orders_events.ORDER_CANCELLED,
    inventory_events.INVENTORY_RESERVED,
    inventory_events.INVENTORY_RESERVATION_FAILED,
    inventory_events.INVENTORY_RELEASED,
    inventory_events.PRODUCT_PRICED,
    payments_events.PAYMENT_AUTHORIZED,
    payments_events.PAYMENT_DECLINED,
    payments_events.PAYMENT_VOIDED,
    shipping_events.SHIPMENT_SCHEDULED,
)
"""The event types (``detail-type``) a webhook subscription may name: each service's
published events, taken from its ``events.py``. The fan-out's rule matches exactly these;
``POST /webhooks`` refuses any other name (``tests/infra/test_contracts.py`` checks that every
one is published by a service)."""

WEBHOOK_REDACTED_FIELDS = tuple(sorted(orders_events.SECRET_FIELDS))
"""Event data fields never delivered to a webhook (the payment token)."""


def error_names(*errors: type[Exception]) -> list[str]:
    """The error names Step Functions sees for these exceptions: their class names."""
    return [error.__name__ for error in errors]
