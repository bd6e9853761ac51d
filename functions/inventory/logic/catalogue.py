"""The catalogue's prices and their publication (no I/O: the store and the bus are passed in).

Setting a product's price publishes ProductPriced with the product's new price version, so
every service that keeps a copy of the prices (orders) hears of it; consumers keep the highest
version per SKU.
"""

from collections.abc import Sequence
from typing import Protocol

from inventory import events
from inventory.models import Product, ProductWrite, SeedProduct
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.models import CamelModel, OrderLine


class CatalogueStore(Protocol):
    def put_product(self, product: Product, *, overwrite: bool) -> ProductWrite: ...

    def restock(self, sku: str, quantity: int) -> None: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[CloudEvent]) -> None: ...


class SeedResult(CamelModel):
    inserted: int
    total: int
    restocked: int = 0


def stored_product(entry: SeedProduct, default_shards: int) -> Product:
    """The product a seed entry describes: a hot one without its own shard count gets the
    stage's (`default_shards`)."""
    shards = entry.shards or (default_shards if entry.hot else 0)
    return Product.model_validate({**entry.model_dump(exclude={"hot"}), "shards": shards})


def seed_catalogue(
    products: Sequence[SeedProduct],
    *,
    overwrite: bool,
    store: CatalogueStore,
    bus: Publisher,
    correlation_id: str,
    default_shards: int,
    restock: Sequence[OrderLine] = (),
) -> SeedResult:
    """Write every product (see `put_product`: a hot one's stock is spread over its shards),
    add the `restock` units (spread over the shards of a hot SKU), then publish one
    ProductPriced per product.

    Published after the writes: a publish that fails (PublishError) fails the seed, and the
    next seed (every deployment) publishes every price again, with a newer version.
    """
    published: list[CloudEvent] = []
    inserted = 0
    for entry in products:
        product = stored_product(entry, default_shards)
        write = store.put_product(product, overwrite=overwrite)
        inserted += write.inserted
        data = events.ProductPricedData(
            sku=product.sku, price=product.price, price_version=write.price_version
        )
        published.append(events.product_priced(data, correlation_id))
    for line in restock:
        store.restock(line.sku, line.quantity)
    if published:
        bus.publish(published)
    return SeedResult(
        inserted=inserted, total=len(products), restocked=sum(line.quantity for line in restock)
    )
