"""Events of the orders service.

Emitted (source `orderflow.orders`), always through the transactional outbox:

| type           | data                                                        |
|----------------|-------------------------------------------------------------|
| OrderPlaced    | orderId, customerId, items[{sku, quantity, unitPrice}], total, paymentToken |
| OrderConfirmed | orderId, customerId, total                                  |
| OrderCancelled | orderId, customerId, reason                                 |

Consumed: OrderPlaced (starts the saga via RecordOrder) and every `orderflow.*` event (the
projector builds each order's history and status from them).
"""

from decimal import Decimal

from pydantic import Field

from orders.models import Order, PricedLine
from shared_kernel.cloudevents import CloudEvent, new_event
from shared_kernel.models import CamelModel, StepInput

SOURCE = "orderflow.orders"
ORDER_PLACED = "OrderPlaced"
ORDER_CONFIRMED = "OrderConfirmed"
ORDER_CANCELLED = "OrderCancelled"

# Never copied into read models or audit trails.
SECRET_FIELDS = frozenset({"paymentToken"})


class OrderPlacedData(CamelModel):
    order_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1, max_length=128)
    items: list[PricedLine] = Field(min_length=1, max_length=25)
    total: Decimal = Field(gt=0)
    payment_token: str = Field(min_length=1, max_length=128)


class OrderConfirmedData(CamelModel):
    order_id: str
    customer_id: str
    total: Decimal


class OrderCancelledData(CamelModel):
    order_id: str
    customer_id: str
    reason: str


def order_placed(order: Order, payment_token: str) -> CloudEvent:
    data = OrderPlacedData(
        order_id=order.order_id,
        customer_id=order.customer_id,
        items=order.items,
        total=order.total,
        payment_token=payment_token,
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
    return _step_event(ORDER_CONFIRMED, data, step)


def order_cancelled(order: Order, reason: str, step: StepInput) -> CloudEvent:
    data = OrderCancelledData(order_id=order.order_id, customer_id=order.customer_id, reason=reason)
    return _step_event(ORDER_CANCELLED, data, step)


def _step_event(type: str, data: CamelModel, step: StepInput) -> CloudEvent:
    return new_event(
        type=type,
        source=SOURCE,
        subject=step.order_id,
        data=data.to_wire(),
        correlation_id=step.correlation_id,
        causation_id=step.causation_id,
    )
