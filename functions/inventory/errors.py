"""Inventory's business errors. Their class names are matched by the state machine's Catch."""

from shared_kernel.errors import BusinessError, TransientError


class OutOfStock(BusinessError):
    reason = "OUT_OF_STOCK"

    def __init__(self, sku: str) -> None:
        super().__init__(f"not enough stock for {sku}", sku=sku)
        self.sku = sku


class ReservationNotFound(BusinessError):
    reason = "RESERVATION_NOT_FOUND"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no reservation for order {order_id}", order_id=order_id)


class ReservationReleased(BusinessError):
    """Commit was asked for a reservation that a compensation already released."""

    reason = "RESERVATION_RELEASED"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"reservation of order {order_id} was released", order_id=order_id)


class InventoryBusy(TransientError):
    """DynamoDB cancelled the reservation transaction because of a concurrent one."""
