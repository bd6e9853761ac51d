"""Orders' domain and I/O models."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared_kernel.cloudevents import BusEvent
from shared_kernel.models import (
    SKU_PATTERN,
    CamelModel,
    Identifier,
    Money,
    OrderId,
    OrderLine,
    StepInput,
    Token,
)

MAX_LINES = 25
"""Lines one order may have."""


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


STRICT_REQUEST = ConfigDict(extra="forbid", strict=True)
"""Request bodies: no type coercion (``"2"`` is not a quantity) and no unknown fields (a
misspelt ``quantiy`` is an error, not a silently ignored key)."""


class OrderLineRequest(OrderLine):
    """One line of POST /orders."""

    model_config = STRICT_REQUEST
    sku: str = Field(
        pattern=SKU_PATTERN,
        description="A SKU of the catalogue (GET /products)",
        examples=["SKU-MUG-001"],
    )
    quantity: int = Field(gt=0, le=1000, examples=[2])


class PlaceOrderRequest(CamelModel):
    """Body of POST /orders. The customer is the one the bearer token names (its ``sub``), never
    a field of the body: a ``customerId`` is refused like any unknown field."""

    model_config = STRICT_REQUEST

    items: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    payment_token: Token = Field(
        description="The payment provider's token (`tok_ok`, `tok_decline`, `tok_flaky`, "
        "`tok_async`, `tok_async_decline`, `tok_async_silent` here)",
        examples=["tok_ok"],
    )


class OrderAccepted(CamelModel):
    """Answer of POST /orders: the order exists and its saga has started."""

    order_id: str
    status: OrderStatus


class PricedLine(OrderLine):
    unit_price: Money


class Order(CamelModel):
    """The write model (pk=ORDER#<id>, sk=ORDER). The payment token is not part of it."""

    order_id: OrderId
    customer_id: Identifier
    status: OrderStatus
    items: list[PricedLine] = Field(min_length=1)
    total: Money
    reason: str | None = None
    correlation_id: str
    created_at: datetime
    updated_at: datetime


class OrderRecord(Order):
    """The stored order with its saga bookkeeping (read by the reconciler): the execution that
    claimed its saga, how often the saga was restarted, and the id of its OrderPlaced event
    (from whose outbox item a restarted saga starts; the payment token stays in the order's
    ``PAYMENT_TOKEN`` item)."""

    saga_execution: str | None = None
    saga_restarts: int = Field(default=0, ge=0)
    placed_event_id: str | None = None


class RecordOrderInput(CamelModel):
    """What the saga passes its first step: the event that started it, and who it is."""

    event: BusEvent
    execution_id: str = Field(min_length=1, max_length=2048)


class SagaState(CamelModel):
    """Output of RecordOrder: the state every later saga step is given."""

    order_id: OrderId
    customer_id: Identifier
    items: list[PricedLine]
    total: Money
    correlation_id: str
    causation_id: str  # the OrderPlaced event's id
    # No payment token: the state is in every execution's history; AuthorizePayment reads the
    # token from the orders store.


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
    """One event of the order's history; `sequence` is its place in the order's logical clock
    (1, 2, ...), the order the history is shown in."""

    sequence: int = Field(ge=1)
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
    total: Money | None = None
    reason: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


# -- storage records shared by logic/ and dal/ --------------------------------------------

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_SK = "OUTBOX"
OUTBOX_PENDING = "PENDING"
"""The outbox item's key markers and pending status: written by dal, matched by the relay's
stream filter (infra) and its rules (logic)."""


class OutboxItem(BaseModel):
    """A PENDING outbox item as a stream record's NewImage carries it (the item as written, see
    dal.repository), so the relay needs no read of the table."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    pk: str = Field(pattern=f"^{OUTBOX_PREFIX}.+")
    sk: Literal["OUTBOX"]
    status: Literal["PENDING"]
    event: str = Field(min_length=1)
    """The CloudEvent, structured JSON; parsed when relayed, so a corrupt one is recorded on
    the item like any other failed attempt."""
    attempts: int = 0
    order_id: str | None = Field(default=None, alias="orderId")
    correlation_id: str | None = Field(default=None, alias="correlationId")
    trace_header: str | None = Field(default=None, alias="traceHeader")
    """The X-Ray trace header of the request that wrote the item (none from a writer that was
    not traced): the relay publishes the event in that trace."""

    @property
    def event_id(self) -> str:
        return self.pk.removeprefix(OUTBOX_PREFIX)


class ViewChange(BaseModel):
    """Attributes to set on the order view. `if_absent` ones never overwrite (OrderPlaced
    arriving after OrderConfirmed must not turn the order back to PENDING)."""

    always: dict[str, Any] = {}
    if_absent: dict[str, Any] = {}
