"""The catalogue's prices and their publication (no I/O: the store and the bus are passed in).

Setting a product's price publishes ProductPriced with the product's new price version, so
every service that keeps a copy of the prices (orders) hears of it; consumers keep the highest
version per SKU.
"""

from collections.abc import Sequence
from typing import Protocol

from inventory import events
from inventory.models import Product, ProductWrite
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.models import CamelModel


class CatalogueStore(Protocol):
    def put_product(self, product: Product, *, overwrite: bool) -> ProductWrite: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


class SeedResult(CamelModel):
    inserted: int
    total: int


def seed_catalogue(
    products: Sequence[Product],
    *,
    overwrite: bool,
    store: CatalogueStore,
    bus: Publisher,
    correlation_id: str,
) -> SeedResult:
    """Write every product (see `put_product`), then publish one ProductPriced per product.

    Published after the writes: a publish that fails (PublishError) fails the seed, and the
    next seed (every deployment) publishes every price again, with a newer version.
    """
    published: list[CloudEvent] = []
    inserted = 0
    for product in products:
        write = store.put_product(product, overwrite=overwrite)
        inserted += write.inserted
        data = events.ProductPricedData(
            sku=product.sku, price=product.price, price_version=write.price_version
        )
        published.append(events.product_priced(data, correlation_id))
    bus.publish(published)
    return SeedResult(inserted=inserted, total=len(products))
