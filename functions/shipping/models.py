"""Shipping's domain and message models."""

from datetime import datetime
from enum import StrEnum

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Field, Json

from shared_kernel.models import CamelModel, OrderLine, StepInput


class ShipmentRequest(StepInput):
    """The SQS message the saga's ScheduleShipment state sends (`.waitForTaskToken`):
    {orderId, items: [{sku, quantity, ...}], taskToken, correlationId, causationId?}."""

    items: list[OrderLine] = Field(min_length=1, max_length=25)
    task_token: str = Field(min_length=1, max_length=2048)


class ShipmentRequestRecord(SqsRecordModel):
    """An SQS record whose body must be a ShipmentRequest (else: a failed record)."""

    body: Json[ShipmentRequest]


class ShipmentStatus(StrEnum):
    SCHEDULED = "SCHEDULED"


class Shipment(CamelModel):
    order_id: str
    shipment_id: str
    status: ShipmentStatus
    lines: list[OrderLine]
    task_notified: bool = False  # the saga was told (send_task_success succeeded)
    created_at: datetime


class ShipmentTaskOutput(CamelModel):
    """What ScheduleShipment's task returns to the state machine."""

    order_id: str
    shipment_id: str
    status: ShipmentStatus
