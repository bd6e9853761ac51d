"""Events emitted by the inventory service (source `orderflow.inventory`).

| type                        | when                                                    |
|-----------------------------|---------------------------------------------------------|
| InventoryReserved           | the order's lines are reserved (also on a replay)       |
| InventoryReservationFailed  | a line could not be reserved (out of stock / unknown)   |
| InventoryReleased           | a compensation gave the reserved stock back              |
| ProductPriced               | a product's price was set (every seed, per product)      |

ProductPriced is the catalogue's published interface: other services keep their own copy of
the prices from it (orders does) and never read the products table. Its `subject` is the SKU
(a SKU fits the `subject` pattern of every orderflow CloudEvent); `data.priceVersion` counts
the product's price settings (1, 2, ...), so a consumer keeps the highest version it has seen
and ignores redelivered or out-of-order older ones. The event id is derived from the SKU and
the version: publishing the same price setting again is the same event.

Inventory consumes no bus events: its steps are invoked by the order saga.
"""

from pydantic import Field

from shared_kernel.cloudevents import CloudEvent, derived_event_id, new_event, step_event
from shared_kernel.models import CamelModel, Money, OrderLine, Sku, StepInput

SOURCE = "orderflow.inventory"
INVENTORY_RESERVED = "InventoryReserved"
INVENTORY_RESERVATION_FAILED = "InventoryReservationFailed"
INVENTORY_RELEASED = "InventoryReleased"
PRODUCT_PRICED = "ProductPriced"
CATALOGUE_EVENTS = (PRODUCT_PRICED,)
"""Events about the catalogue, not about an order (the order projector does not record them)."""


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


class ProductPricedData(CamelModel):
    sku: Sku
    price: Money = Field(gt=0)
    price_version: int = Field(ge=1)


def product_priced(data: ProductPricedData, correlation_id: str) -> CloudEvent:
    """The product's price as set at `data.price_version`; same SKU and version, same id."""
    return new_event(
        type=PRODUCT_PRICED,
        source=SOURCE,
        subject=data.sku,
        data=data.to_wire(),
        correlation_id=correlation_id,
        event_id=derived_event_id(PRODUCT_PRICED, data.sku, str(data.price_version)),
    )
