"""Where a reservation takes a line's units from (`inventory.stock_plan`): pure, no table."""

import random

import pytest

from inventory.errors import InventoryBusy, OutOfStock
from inventory.models import StockTake
from inventory.stock_plan import MAX_SPLITS, LinePlan, attempt_bound
from shared_kernel.models import OrderLine

HOT = "SKU-HOT-001"


class Pick:
    """A start shard chosen in advance; records the shard counts it was asked about."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.asked: list[int] = []

    def __call__(self, shards: int) -> int:
        self.asked.append(shards)
        return self.shard


def line(quantity: int = 1) -> OrderLine:
    return OrderLine(sku=HOT, quantity=quantity)


def shards_tried(plan: LinePlan) -> list[int | None]:
    """The shard of every take until the walk is over (each refused in turn)."""
    tried = [take.shard for take in plan.takes()]
    while plan.next_shard():
        tried += [take.shard for take in plan.takes()]
    return tried


def test_a_sku_believed_not_sharded_is_taken_from_its_product_item():
    pick = Pick(0)
    plan = LinePlan.start(line(3), 0, pick)
    assert plan.takes() == [StockTake(sku=HOT, shard=None, quantity=3)]
    assert pick.asked == []


def test_a_hot_sku_starts_on_the_shard_the_injected_random_picks():
    for seed in range(5):
        plan = LinePlan.start(line(2), 8, random.Random(seed).randrange)
        start = random.Random(seed).randrange(8)
        assert plan.takes() == [StockTake(sku=HOT, shard=start, quantity=2)]


def test_a_refused_shard_falls_back_to_the_next_ones_round_then_to_a_split():
    plan = LinePlan.start(line(), 4, Pick(2))
    assert shards_tried(plan) == [2, 3, 0, 1]
    assert plan.splits == 1  # the walk is over: a split is planned next


def test_a_product_item_that_refuses_says_out_of_stock_or_hot():
    with pytest.raises(OutOfStock, match=HOT):
        LinePlan.start(line(), 0, Pick(0)).product_refused(0, Pick(0))
    plan = LinePlan.start(line(), 0, Pick(0))
    pick = Pick(3)
    plan.product_refused(5, pick)
    assert (pick.asked, plan.shards, shards_tried(plan)) == ([5], 5, [3, 4, 0, 1, 2])


def test_a_line_no_single_shard_holds_is_split_over_the_fullest_sources():
    plan = LinePlan.start(line(4), 4, Pick(0))
    shards_tried(plan)
    plan.split_over({None: 1, 0: 2, 1: 0, 2: 2, 3: 1})
    assert plan.takes() == [
        StockTake(sku=HOT, shard=0, quantity=2),
        StockTake(sku=HOT, shard=2, quantity=2),
    ]


def test_a_line_the_sources_hold_too_few_units_for_in_all_is_out_of_stock():
    plan = LinePlan.start(line(4), 2, Pick(0))
    shards_tried(plan)
    with pytest.raises(OutOfStock, match=HOT):
        plan.split_over({None: 1, 0: 1, 1: 1})


def test_a_refused_split_is_planned_again_up_to_the_limit_then_busy():
    plan = LinePlan.start(line(2), 2, Pick(0))
    assert shards_tried(plan) == [0, 1]
    plan.split_over({None: 0, 0: 1, 1: 1})
    for _ in range(MAX_SPLITS - 1):
        assert plan.next_shard() is False  # a refused split is planned again, never walked
        plan.split_over({None: 0, 0: 1, 1: 1})
    with pytest.raises(InventoryBusy, match=HOT):
        plan.next_shard()


def test_the_attempt_bound_outlasts_every_move_a_line_can_make():
    # Given a line of a SKU this environment believes not sharded, but hot with 4 shards
    plan = LinePlan.start(line(2), 0, Pick(0))
    # When every transaction refuses it (as the dal loops: the bound read at each attempt)
    attempts = 0
    busy = False
    while attempts < attempt_bound([plan]) and not busy:
        attempts += 1
        try:
            if not plan.shards:
                plan.product_refused(4, Pick(0))
            elif not plan.next_shard():
                plan.split_over({None: 0, 0: 1, 1: 1, 2: 0, 3: 0})
        except InventoryBusy:
            busy = True
    # Then the plan gave up before the bound: the product item, the 4 shards, every split
    assert busy
    assert attempts == 1 + 4 + MAX_SPLITS
    assert attempts < attempt_bound([plan])
