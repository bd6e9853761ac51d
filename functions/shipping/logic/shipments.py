"""Shipment rules (no I/O)."""

import uuid
from datetime import UTC, datetime

from shipping.models import Shipment, ShipmentRequest, ShipmentStatus

_SHIPMENT_NAMESPACE = uuid.UUID("0d4b8f6a-2c1e-4f7a-9b3d-6e5c4a2b1f0e")


def shipment_id_for(order_id: str) -> str:
    """One shipment per order, with an id every retry computes the same way."""
    return f"shp-{uuid.uuid5(_SHIPMENT_NAMESPACE, order_id)}"


def new_shipment(request: ShipmentRequest) -> Shipment:
    return Shipment(
        order_id=request.order_id,
        shipment_id=shipment_id_for(request.order_id),
        status=ShipmentStatus.SCHEDULED,
        lines=[line.model_copy() for line in request.items],
        created_at=datetime.now(UTC),
    )
