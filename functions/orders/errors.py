"""Orders' business errors. Class names are matched by the state machine's Catch."""

from shared_kernel.errors import BusinessError


class UnknownSku(BusinessError):
    """A line names a SKU the catalogue does not sell; `field` points at it in the request."""

    reason = "UNKNOWN_SKU"

    def __init__(self, sku: str, index: int) -> None:
        super().__init__(f"unknown sku {sku!r}", sku=sku)
        self.sku = sku
        self.field = f"items[{index}].sku"


class OrderNotFound(BusinessError):
    reason = "ORDER_NOT_FOUND"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} does not exist", order_id=order_id)


class OrderStateConflict(BusinessError):
    """A terminal order was asked to move to the other terminal state."""

    reason = "ORDER_STATE_CONFLICT"

    def __init__(self, order_id: str, current: str, target: str) -> None:
        super().__init__(
            f"order {order_id} is {current}, cannot become {target}",
            order_id=order_id,
            current=current,
            target=target,
        )
