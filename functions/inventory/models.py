"""Inventory's domain and I/O models."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from inventory.sharding import MAX_SHARDS
from shared_kernel.models import CamelModel, Money, OrderLine, Sku, StepInput


class Product(CamelModel):
    """A product and its stock. For a hot SKU (`shards` >= 2) the counters are the sums over
    its shard items and the product item (see `inventory.sharding`)."""

    sku: Sku
    name: str = Field(min_length=1)
    price: Money = Field(gt=0)
    available: int = Field(ge=0)
    reserved: int = Field(default=0, ge=0)
    sold: int = Field(default=0, ge=0)
    shards: int = Field(default=0, ge=0, le=MAX_SHARDS)
    """0: the stock is on the product item; N >= 2: a hot SKU, its stock on N shard items."""

    @field_validator("shards")
    @classmethod
    def _one_shard_is_no_sharding(cls, shards: int) -> int:
        if shards == 1:
            raise ValueError("a hot SKU needs at least 2 shards (0: not sharded)")
        return shards


class SeedProduct(Product):
    """A product of the seed: `hot: true` shards its stock over `shards` shard items, or over
    the stage's default count (`STOCK_SHARDS`) when `shards` is not given."""

    hot: bool = False


class StockTake(CamelModel):
    """Where a reservation took a line's units from: a shard of a hot SKU, or (shard None)
    the product item. Release and commit move exactly these units back or on."""

    sku: Sku
    shard: int | None = Field(default=None, ge=0, lt=MAX_SHARDS)
    quantity: int = Field(ge=1)


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
    takes: list[StockTake] = Field(default_factory=list)
    """Where the units came from (empty on a reservation stored before sharding existed: then
    every line came from its product item)."""
    attempts: int = Field(default=1, ge=1)
    """Transactions the reservation took (1 + the conditional-check failures on the way)."""

    def sources(self) -> list[StockTake]:
        """The takes, or for an older reservation without them, one per line from the
        product item."""
        if self.takes:
            return list(self.takes)
        return [StockTake(sku=line.sku, quantity=line.quantity) for line in self.lines]


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
