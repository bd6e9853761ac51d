"""Orders' business errors. Class names are matched by the state machine's Catch."""

from shared_kernel.errors import BusinessError, TransientError


class UnknownSku(BusinessError):
    """Lines name SKUs the catalogue does not sell; `fields` point at them in the request
    (`items[2].sku`), `field` at the first one."""

    reason = "UNKNOWN_SKU"

    def __init__(self, unknown: list[tuple[int, str]]) -> None:
        skus = sorted({sku for _, sku in unknown})
        super().__init__(f"unknown sku: {', '.join(repr(sku) for sku in skus)}", skus=skus)
        self.fields = [f"items[{index}].sku" for index, _ in unknown]
        self.field = self.fields[0]


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


class SagaAlreadyStarted(BusinessError):
    """Another execution already runs this order's saga: this one was started by a second
    delivery of the same OrderPlaced (EventBridge delivers at least once)."""

    reason = "SAGA_ALREADY_STARTED"

    def __init__(self, order_id: str, owner: str) -> None:
        super().__init__(
            f"order {order_id}'s saga is run by {owner}", order_id=order_id, owner=owner
        )


class ProjectionContention(TransientError):
    """Projectors kept recording other events of the same order while this one was being
    numbered; the record fails and is received again."""

    def __init__(self, order_id: str, attempts: int) -> None:
        super().__init__(f"order {order_id}: no free sequence number after {attempts} attempts")
