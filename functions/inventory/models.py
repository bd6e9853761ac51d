"""Inventory's domain and I/O models."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared_kernel.models import CamelModel, Money, OrderLine, Sku, StepInput


class Product(CamelModel):
    sku: Sku
    name: str = Field(min_length=1)
    price: Money = Field(gt=0)
    available: int = Field(ge=0)
    reserved: int = Field(default=0, ge=0)
    sold: int = Field(default=0, ge=0)


class ProductWrite(CamelModel):
    """What writing a product did: whether it was inserted (or overwritten), and the version
    of its price now stored (each write of a price is a new version: 1, 2, ...)."""

    inserted: bool
    price_version: int = Field(ge=1)


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


class Reservation(CamelModel):
    order_id: str
    status: ReservationStatus
    lines: list[OrderLine]
    created_at: datetime
    updated_at: datetime


class ReserveInventoryInput(StepInput):
    items: list[OrderLine] = Field(min_length=1, max_length=25)


class ReservationOutput(CamelModel):
    """What the reserve / release / commit steps return to the state machine."""

    order_id: str
    status: ReservationStatus | None  # None: there was no reservation to release
    lines: list[OrderLine] = Field(default_factory=list)


class ProductView(CamelModel):
    """A product as listed by GET /products."""

    sku: str
    name: str
    price: Money
    available: int


class ProductList(CamelModel):
    """Body of GET /products."""

    products: list[ProductView]
