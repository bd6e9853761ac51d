"""Events of the orders service.

Emitted (source `orderflow.orders`), always through the transactional outbox:

| type           | data                                                        |
|----------------|-------------------------------------------------------------|
| OrderPlaced    | orderId, customerId, items[{sku, quantity, unitPrice}], total       |
| OrderConfirmed | orderId, customerId, total                                  |
| OrderCancelled | orderId, customerId, reason                                 |

OrderPlaced carries no payment token (data minimisation): the token stays in the orders store
(``PAYMENT_TOKEN`` item of the order), where AuthorizePayment reads it. An OrderPlaced sent
straight to the bus from outside (a tool, a test, ``events/order-placed.json``) may still carry
``paymentToken``: RecordOrder stores it in the orders store and it is never published again.

Consumed: OrderPlaced (starts the saga via RecordOrder), every `orderflow.*` event about an
order (the projector builds each order's history and status from them), and inventory's
ProductPriced (source `orderflow.inventory`; `data: {sku, price, priceVersion}`), from which
orders keeps its own copy of the catalogue's prices (tolerant reader: only these fields).
"""

from pydantic import Field

from orders.models import Order, PricedLine
from shared_kernel.cloudevents import CloudEvent, new_event, step_event
from shared_kernel.models import CamelModel, Identifier, Money, OrderId, Sku, StepInput, Token

SOURCE = "orderflow.orders"
ORDER_PLACED = "OrderPlaced"
ORDER_CONFIRMED = "OrderConfirmed"
ORDER_CANCELLED = "OrderCancelled"

INVENTORY_SOURCE = "orderflow.inventory"
PRODUCT_PRICED = "ProductPriced"

# Never copied into read models or audit trails (an inbound OrderPlaced may carry it).
SECRET_FIELDS = frozenset({"paymentToken"})


class OrderPlacedData(CamelModel):
    order_id: OrderId
    customer_id: Identifier
    items: list[PricedLine] = Field(min_length=1, max_length=25)
    total: Money = Field(gt=0)
    payment_token: Token | None = None
    """Only on an OrderPlaced sent to the bus from outside; orderflow never publishes it."""


class OrderConfirmedData(CamelModel):
    order_id: OrderId
    customer_id: Identifier
    total: Money


class OrderCancelledData(CamelModel):
    order_id: OrderId
    customer_id: Identifier
    reason: str


class ProductPricedData(CamelModel):
    """Inventory's ProductPriced, as far as orders reads it."""

    sku: Sku
    price: Money = Field(gt=0)
    price_version: int = Field(ge=1)


def order_placed(order: Order) -> CloudEvent:
    """OrderPlaced, without the payment token (it stays in the orders store)."""
    data = OrderPlacedData(
        order_id=order.order_id,
        customer_id=order.customer_id,
        items=order.items,
        total=order.total,
    )
    return new_event(
        type=ORDER_PLACED,
        source=SOURCE,
        subject=order.order_id,
        data=data.to_wire(),
        correlation_id=order.correlation_id,
    )


def order_confirmed(order: Order, step: StepInput) -> CloudEvent:
    data = OrderConfirmedData(
        order_id=order.order_id, customer_id=order.customer_id, total=order.total
    )
    return step_event(step, SOURCE, ORDER_CONFIRMED, data)


def order_cancelled(order: Order, reason: str, step: StepInput) -> CloudEvent:
    data = OrderCancelledData(order_id=order.order_id, customer_id=order.customer_id, reason=reason)
    return step_event(step, SOURCE, ORDER_CANCELLED, data)
