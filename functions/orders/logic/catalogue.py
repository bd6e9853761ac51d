"""Orders' copy of the catalogue's prices, kept from inventory's ProductPriced events (no I/O:
the store is passed in).

The copy is eventually consistent with inventory: a price set in inventory reaches it a short
while later (the bus, a queue, this consumer), and an order is priced with the price orders
knew when it was placed. Each SKU keeps its highest `priceVersion`, so redelivered and
out-of-order events never bring an older price back.
"""

from decimal import Decimal
from typing import Protocol

from orders import events
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.errors import MalformedEventError


class PriceStore(Protocol):
    def record_price(
        self, sku: str, price: Decimal, version: int, *, event_id: str, priced_at: str
    ) -> bool: ...


def record_price(event: CloudEvent, store: PriceStore) -> bool:
    """Keep the event's price if it is newer than the one orders has; False when it is not.
    Raises MalformedEventError for another event, bad data, or data about another SKU than
    the event's subject."""
    if (event.source, event.type) != (events.INVENTORY_SOURCE, events.PRODUCT_PRICED):
        raise MalformedEventError("detail.type", f"{event.source} {event.type} is no price")
    priced = event.data_as(events.ProductPricedData)
    if priced.sku != event.subject:
        raise MalformedEventError("data.sku", f"{priced.sku!r} is not the subject")
    return store.record_price(
        priced.sku,
        priced.price,
        priced.price_version,
        event_id=event.id,
        priced_at=str(event.to_dict()["time"]),
    )
