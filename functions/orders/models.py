"""Orders' domain and I/O models."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from shared_kernel.models import CamelModel, OrderLine, StepInput


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class PlaceOrderRequest(CamelModel):
    """Body of POST /orders."""

    customer_id: str = Field(min_length=1, max_length=128)
    items: list[OrderLine] = Field(min_length=1, max_length=25)
    payment_token: str = Field(min_length=1, max_length=128)


class PricedLine(OrderLine):
    unit_price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)


class Order(CamelModel):
    """The write model (pk=ORDER#<id>, sk=ORDER). The payment token is not part of it."""

    order_id: str
    customer_id: str
    status: OrderStatus
    items: list[PricedLine] = Field(min_length=1)
    total: Decimal
    reason: str | None = None
    correlation_id: str
    created_at: datetime
    updated_at: datetime


class SagaState(CamelModel):
    """Output of RecordOrder: the state every later saga step is given."""

    order_id: str
    customer_id: str
    items: list[PricedLine]
    total: Decimal
    payment_token: str
    correlation_id: str
    causation_id: str  # the OrderPlaced event's id


class StepError(CamelModel):
    """What a Step Functions Catch puts at its ResultPath: {"Error": ..., "Cause": ...}."""

    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class CancelOrderInput(StepInput):
    """`reason` wins; otherwise it is derived from the caught `error`."""

    reason: str | None = Field(default=None, max_length=64)
    error: StepError | None = None


class OrderStepOutput(CamelModel):
    order_id: str
    status: OrderStatus
    reason: str | None = None


class HistoryEntry(CamelModel):
    id: str
    type: str
    source: str
    time: str
    data: dict[str, Any]


class OrderDetails(CamelModel):
    """Body of GET /orders/{orderId}."""

    order_id: str
    status: OrderStatus
    customer_id: str | None = None
    items: list[PricedLine] = Field(default_factory=list)
    total: Decimal | None = None
    reason: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
