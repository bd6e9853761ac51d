"""Events emitted by the shipping service (source `orderflow.shipping`).

| type              | when                                                      |
|-------------------|-----------------------------------------------------------|
| ShipmentScheduled | a shipment was scheduled and the saga told (also replays) |

Shipping consumes no bus events: the saga sends it requests through SQS.
"""

from shared_kernel.cloudevents import CloudEvent, step_event
from shared_kernel.models import CamelModel, OrderLine
from shipping.models import Shipment, ShipmentRequest

SOURCE = "orderflow.shipping"
SHIPMENT_SCHEDULED = "ShipmentScheduled"


class ShipmentScheduledData(CamelModel):
    order_id: str
    shipment_id: str
    lines: list[OrderLine]


def shipment_scheduled(request: ShipmentRequest, shipment: Shipment) -> CloudEvent:
    data = ShipmentScheduledData(
        order_id=shipment.order_id, shipment_id=shipment.shipment_id, lines=shipment.lines
    )
    return step_event(request, SOURCE, SHIPMENT_SCHEDULED, data)
