"""Events consumed by the notifications service (it emits none).

Both come from the orders service (source `orderflow.orders`) through the order-outcomes SNS
topic; only the fields used here are required (tolerant reader).
"""

from shared_kernel.models import CamelModel, Money

ORDERS_SOURCE = "orderflow.orders"
ORDER_CONFIRMED = "OrderConfirmed"
ORDER_CANCELLED = "OrderCancelled"


class OrderConfirmedData(CamelModel):
    order_id: str
    customer_id: str
    total: Money


class OrderCancelledData(CamelModel):
    order_id: str
    customer_id: str
    reason: str
