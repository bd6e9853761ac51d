"""Where a reservation takes each line's units from, attempt after attempt (no I/O: the dal
reads and writes, and tells the plan what DynamoDB answered).

A line of a SKU believed not sharded is taken from its product item. A line of a hot SKU is
taken from one shard, a start picked at random, then the next ones in order
(`sharding.shard_order`), one transaction each: a failed condition is the only way to learn
that a shard is short. When the product item refuses a line, the item it returns says whether
the SKU is out of stock or hot since this environment last looked. When no single shard can
satisfy a line, it is split over several sources (`sharding.split`) from a fresh consistent
read of their levels, at most `MAX_SPLITS` times; only when they hold too few units in all is
it OutOfStock.

It is a module of its own, not in logic/: the dal calls it (dal/ never imports logic/).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from inventory.errors import InventoryBusy, OutOfStock
from inventory.models import StockTake
from inventory.sharding import shard_order, split
from shared_kernel.models import OrderLine

MAX_SPLITS = 3
"""Split transactions planned for one line before the reservation gives up as busy (each is
planned from a fresh consistent read; a cancellation means stock moved meanwhile)."""

StartShard = Callable[[int], int]
"""Picks the shard a walk over `shards` shards starts from, in 0..shards-1 (the dal passes
`random.Random.randrange`; tests a fixed choice)."""


@dataclass
class LinePlan:
    """Where one line of a reservation tries to take its units from, attempt after attempt."""

    line: OrderLine
    shards: int = 0  # what this environment believes: 0 = the product item
    order: list[int] = field(default_factory=list)  # shards to try, one after the other
    position: int = 0
    planned: list[tuple[int | None, int]] | None = None  # a split over several sources
    splits: int = 0

    @classmethod
    def start(cls, line: OrderLine, shards: int, pick: StartShard) -> "LinePlan":
        """The first plan of `line`, for a SKU this environment believes has `shards` shards
        (0: not sharded, the product item)."""
        plan = cls(line)
        if shards:
            plan.walk(shards, pick)
        return plan

    def takes(self) -> list[StockTake]:
        """What the next transaction takes for this line, and from where."""
        sku, quantity = self.line.sku, self.line.quantity
        if not self.shards:
            return [StockTake(sku=sku, shard=None, quantity=quantity)]
        if self.planned is not None:
            return [StockTake(sku=sku, shard=s, quantity=q) for s, q in self.planned]
        return [StockTake(sku=sku, shard=self.order[self.position], quantity=quantity)]

    def walk(self, shards: int, pick: StartShard) -> None:
        """Take from one of `shards` shards at a time: `pick`'s first, then the next ones."""
        self.shards = shards
        self.order = shard_order(pick(shards), shards)
        self.position = 0
        self.planned = None

    def product_refused(self, shards: int, pick: StartShard) -> None:
        """The product item refused the line, and says the SKU has `shards` shards: OutOfStock
        when it has none (or is unknown), else a walk over them."""
        if not shards:
            raise OutOfStock(self.line.sku)
        self.walk(shards, pick)

    def next_shard(self) -> bool:
        """A shard (or a split) refused the line: move to the next shard of the walk (True),
        or say that a split is next (False: plan it with `split_over` from fresh levels).
        InventoryBusy once `MAX_SPLITS` splits were planned."""
        if self.planned is None and self.position + 1 < len(self.order):
            self.position += 1
            return True
        self.splits += 1
        if self.splits > MAX_SPLITS:
            raise InventoryBusy(
                f"stock of {self.line.sku} kept moving while splitting a line over shards"
            )
        return False

    def split_over(self, levels: Mapping[int | None, int]) -> None:
        """Take the line from several sources (`levels`: available per shard, None for the
        product item), the fullest first; OutOfStock when they hold too few in all."""
        planned = split(levels, self.line.quantity)
        if planned is None:
            raise OutOfStock(self.line.sku)
        self.planned = planned


def attempt_bound(plans: Sequence[LinePlan]) -> int:
    """Transactions a reservation may try: every failed one moves a line on (learning that
    its SKU is hot, the next shard, a split), and each line has that many moves at most."""
    return 1 + sum(1 + plan.shards + MAX_SPLITS for plan in plans)
