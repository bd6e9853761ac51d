"""Write-sharded stock for hot SKUs: the arithmetic, with no I/O (the dal applies it).

A hot SKU keeps its stock in N shard items (`SHARD#<sku>#<i>`, i = 0..N-1), each with its own
`available`, `reserved` and `sold`; the product item keeps the name, the price, `shards = N`
and whatever units it still holds itself (units reserved before the SKU became hot and
released after, until a rebalance moves them into the shards). The SKU's stock is the sum.

- A reservation takes a line from one shard: a random start, then the next ones in order
  (`shard_order`), each a conditional update (`available >= quantity`).
- A line no single source can satisfy is split over several sources in one transaction
  (`split`), planned from a consistent read and written with a condition per source, so a
  concurrent change cancels the whole transaction instead of overselling.
- Adding stock, or converting a SKU to hot, spreads units evenly (`spread`).
"""

from collections.abc import Mapping

MAX_SHARDS = 50
"""At most 50 shards: a split transaction touches the reservation item, the product item and
every shard of one SKU, within DynamoDB's 100 actions per TransactWriteItems."""

PRODUCT_SOURCE: None = None
"""A take whose shard is None comes from the product item itself."""


def shard_order(start: int, shards: int) -> list[int]:
    """Every shard once, from `start` onwards and round."""
    return [(start + offset) % shards for offset in range(shards)]


def spread(quantity: int, shards: int, start: int = 0) -> list[int]:
    """`quantity` units over `shards` shards as evenly as possible (the remainder one unit
    each to the shards from `start` onwards); the shares add up to `quantity`."""
    if shards < 1 or quantity < 0:
        raise ValueError("spread needs at least one shard and a quantity >= 0")
    base, remainder = divmod(quantity, shards)
    extra = set(shard_order(start, shards)[:remainder])
    return [base + (index in extra) for index in range(shards)]


def split(levels: Mapping[int | None, int], quantity: int) -> list[tuple[int | None, int]] | None:
    """Take `quantity` from the sources with the most available first (as few sources as
    possible); None when they hold fewer units in all. `levels`: available per source (a shard
    index, or None for the product item)."""
    if sum(max(level, 0) for level in levels.values()) < quantity:
        return None
    takes: list[tuple[int | None, int]] = []
    left = quantity
    ranked = sorted(
        levels.items(), key=lambda entry: (-entry[1], -1 if entry[0] is None else entry[0])
    )
    for source, level in ranked:
        if left == 0:
            break
        take = min(level, left)
        if take > 0:
            takes.append((source, take))
            left -= take
    return takes
