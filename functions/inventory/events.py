"""Events emitted by the inventory service (source `orderflow.inventory`).

| type                        | when                                                    |
|-----------------------------|---------------------------------------------------------|
| InventoryReserved           | the order's lines are reserved (also on a replay)       |
| InventoryReservationFailed  | a line could not be reserved (out of stock / unknown)   |
| InventoryReleased           | a compensation gave the reserved stock back              |

Inventory consumes no bus events: its steps are invoked by the order saga.
"""

from shared_kernel.cloudevents import CloudEvent, step_event
from shared_kernel.models import CamelModel, OrderLine, StepInput

SOURCE = "orderflow.inventory"
INVENTORY_RESERVED = "InventoryReserved"
INVENTORY_RESERVATION_FAILED = "InventoryReservationFailed"
INVENTORY_RELEASED = "InventoryReleased"


class InventoryReservedData(CamelModel):
    order_id: str
    lines: list[OrderLine]


class InventoryReservationFailedData(CamelModel):
    order_id: str
    reason: str
    sku: str


class InventoryReleasedData(CamelModel):
    order_id: str
    lines: list[OrderLine]


def inventory_reserved(step: StepInput, lines: list[OrderLine]) -> CloudEvent:
    data = InventoryReservedData(order_id=step.order_id, lines=lines)
    return step_event(step, SOURCE, INVENTORY_RESERVED, data)


def inventory_reservation_failed(step: StepInput, reason: str, sku: str) -> CloudEvent:
    data = InventoryReservationFailedData(order_id=step.order_id, reason=reason, sku=sku)
    return step_event(step, SOURCE, INVENTORY_RESERVATION_FAILED, data)


def inventory_released(step: StepInput, lines: list[OrderLine]) -> CloudEvent:
    data = InventoryReleasedData(order_id=step.order_id, lines=lines)
    return step_event(step, SOURCE, INVENTORY_RELEASED, data)
