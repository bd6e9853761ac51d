"""Scheduling a shipment for the saga (no I/O: storage, bus and saga are passed in).

Causality at the source: the event that reports the step (ShipmentScheduled) is on the bus
before the saga is told the step is done (SendTaskSuccess), so nothing the saga does next
(ConfirmOrder, OrderConfirmed) can precede it.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shared_kernel.cloudevents import CloudEvent
from shipping import events
from shipping.models import Shipment, ShipmentRequest, ShipmentStatus, ShipmentTaskOutput

_SHIPMENT_NAMESPACE = uuid.UUID("0d4b8f6a-2c1e-4f7a-9b3d-6e5c4a2b1f0e")


class ShipmentStore(Protocol):
    def schedule(self, shipment: Shipment) -> Shipment: ...

    def mark_task_notified(self, order_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


class Saga(Protocol):
    def succeed(self, task_token: str, output: dict[str, Any]) -> bool: ...


class Outcome(StrEnum):
    SCHEDULED = "SCHEDULED"
    """Stored, reported on the bus, and the saga told."""
    REPLAYED = "REPLAYED"
    """A redelivered request: the saga had been told already; the event was published again
    (same id, consumers ignore it)."""
    SAGA_GONE = "SAGA_GONE"
    """The saga stopped waiting (timed out, compensated) before it could be told."""


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


def schedule_shipment(
    request: ShipmentRequest, store: ShipmentStore, publisher: Publisher, saga: Saga
) -> tuple[Shipment, Outcome]:
    """Store the order's shipment (once), publish ShipmentScheduled, then tell the saga.

    Every step is idempotent, so a redelivered request repeats what a crash interrupted: the
    event again (same id), the task success only if it was not recorded as sent.
    """
    shipment = store.schedule(new_shipment(request))
    publisher.publish([events.shipment_scheduled(request, shipment)])
    if shipment.task_notified:
        return shipment, Outcome.REPLAYED
    output = ShipmentTaskOutput(
        order_id=shipment.order_id, shipment_id=shipment.shipment_id, status=shipment.status
    )
    if not saga.succeed(request.task_token, output.to_wire()):
        return shipment, Outcome.SAGA_GONE
    store.mark_task_notified(shipment.order_id)
    return shipment, Outcome.SCHEDULED
