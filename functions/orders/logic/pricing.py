"""Prices an order from the catalogue (no I/O: the price lookup is passed in)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from orders.errors import UnknownSku
from orders.models import PricedLine
from shared_kernel.models import OrderLine, money

PriceLookup = Callable[[Iterable[str]], Mapping[str, Decimal]]


def price_items(
    items: Sequence[OrderLine], lookup: PriceLookup
) -> tuple[list[PricedLine], Decimal]:
    """Each line with its unit price, and the total. Raises UnknownSku naming every line whose
    SKU has no price (`items[<index>].sku`)."""
    prices = lookup({item.sku for item in items})
    unknown = [(index, item.sku) for index, item in enumerate(items) if item.sku not in prices]
    if unknown:
        raise UnknownSku(unknown)
    lines = [
        PricedLine(sku=item.sku, quantity=item.quantity, unit_price=prices[item.sku])
        for item in items
    ]
    return lines, order_total(lines)


def order_total(lines: Iterable[PricedLine]) -> Decimal:
    """The sum of the lines, as Money (two places)."""
    return money(sum((line.unit_price * line.quantity for line in lines), Decimal(0)))
