"""Write-sharded stock of hot SKUs: reservations spread over shard items without overselling,
release and commit back to the shards the units came from, conversion and restocking that
neither lose nor create units (moto)."""

import random
import threading
from collections import Counter
from typing import Any

import boto3
import pytest

from inventory.dal.repository import InventoryRepository, product_key, shard_key
from inventory.errors import OutOfStock
from inventory.handlers import list_products, seed_products
from inventory.logic.reservations import commit, release, reserve
from inventory.models import Product, Reservation, ReserveInventoryInput, StockTake
from inventory.sharding import shard_order, split, spread
from shared_kernel.models import OrderLine, StepInput
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import TABLE_ENV

HOT = "SKU-HOT-001"


class _Bus:
    def publish(self, events) -> None:
        pass


def reserve_units(repository: InventoryRepository, order_id: str, quantity: int = 1) -> Reservation:
    items = [OrderLine(sku=HOT, quantity=quantity)]
    step = ReserveInventoryInput(order_id=order_id, correlation_id="corr-1", items=items)
    return reserve(step, repository, _Bus())


def release_order(repository: InventoryRepository, order_id: str) -> None:
    release(StepInput(order_id=order_id, correlation_id="corr-1"), repository, _Bus())


def table() -> Any:
    return boto3.resource("dynamodb").Table(TABLE_ENV["PRODUCTS_TABLE"])


def hot_product(repository: InventoryRepository, levels: list[int]) -> None:
    """A hot SKU whose shards hold `levels` available units (none reserved or sold)."""
    product = Product(sku=HOT, name="Flash sale", price="5.00", available=0, shards=len(levels))
    repository.put_product(product, overwrite=True)
    for shard, level in enumerate(levels):
        item = {**shard_key(HOT, shard), "available": level, "reserved": 0, "sold": 0}
        table().put_item(Item=item)


def shard_counters(repository: InventoryRepository) -> list[tuple[int, int, int]]:
    return [
        (level["available"], level["reserved"], level["sold"])
        for level in repository.shard_levels(HOT)
    ]


def product_item(sku: str = HOT) -> dict[str, Any]:
    item: dict[str, Any] = table().get_item(Key=product_key(sku), ConsistentRead=True)["Item"]
    return item


def totals(repository: InventoryRepository) -> tuple[int, int, int]:
    product = repository.get_product(HOT)
    assert product is not None
    return product.available, product.reserved, product.sold


# -- the arithmetic ---------------------------------------------------------------------------


def test_spread_shares_add_up_and_differ_by_at_most_one():
    for quantity in (0, 1, 7, 150, 1001):
        for shards in (2, 3, 8, 10):
            for start in (0, 1, shards - 1):
                shares = spread(quantity, shards, start)
                assert sum(shares) == quantity
                assert max(shares) - min(shares) <= 1


def test_shard_order_visits_every_shard_once_from_the_start():
    assert shard_order(5, 8) == [5, 6, 7, 0, 1, 2, 3, 4]


def test_split_takes_from_the_fullest_sources_or_refuses():
    assert split({None: 0, 0: 2, 1: 3, 2: 1}, 4) == [(1, 3), (0, 1)]
    assert split({None: 1, 0: 1, 1: 1}, 3) == [(None, 1), (0, 1), (1, 1)]
    assert split({None: 0, 0: 2, 1: 1}, 4) is None


# -- reservations -----------------------------------------------------------------------------


@pytest.mark.usefixtures("atomic_dynamodb_requests")
def test_200_concurrent_reservations_of_150_units_on_8_shards_sell_exactly_150(products_table):
    # Given 150 units spread over 8 shards (19 or 18 each)
    setup = InventoryRepository(products_table)
    setup.put_product(
        Product(sku=HOT, name="Flash sale", price="5.00", available=150, shards=8), overwrite=False
    )
    assert sorted(level for level, _, _ in shard_counters(setup)) == [
        18,
        18,
        19,
        19,
        19,
        19,
        19,
        19,
    ]
    # And 10 execution environments, none of which knows yet that the SKU is hot
    environments = [InventoryRepository(products_table) for _ in range(10)]
    start = threading.Barrier(200)
    reserved: list[Reservation] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []

    def order(number: int) -> None:
        start.wait()
        try:
            reserved.append(reserve_units(environments[number % 10], f"order-{number}"))
        except OutOfStock:
            refused.append(f"order-{number}")
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            unexpected.append(exc)

    # When 200 orders of one unit each reserve at once
    threads = [threading.Thread(target=order, args=(number,)) for number in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly 150 succeed and 50 are refused: no oversell, no unit left unsold
    assert unexpected == []
    assert (len(reserved), len(refused)) == (150, 50)
    # And no shard went below zero; each holds as reserved what the reservations say they took
    counters = shard_counters(setup)
    assert all(available >= 0 and reserved_ >= 0 for available, reserved_, _ in counters)
    assert [available for available, _, _ in counters] == [0] * 8
    taken = Counter(take.shard for r in reserved for take in r.takes)
    assert {shard: held for shard, (_, held, _) in enumerate(counters)} == dict(taken)
    assert totals(setup) == (0, 150, 0)
    # And every stored reservation records one unit from one shard
    for reservation in reserved:
        stored = setup.get_reservation(reservation.order_id)
        assert stored is not None
        assert [(take.quantity, take.shard is not None) for take in stored.takes] == [(1, True)]
    assert all(setup.get_reservation(order_id) is None for order_id in refused)


def test_release_and_commit_move_units_on_the_shards_they_came_from(products_table):
    # Given 4 shards of 5 units
    repository = InventoryRepository(products_table, rng=random.Random(3))
    hot_product(repository, [5, 5, 5, 5])
    # When two orders reserve 2 units each
    first = reserve_units(repository, "order-1", 2)
    second = reserve_units(repository, "order-2", 2)
    [first_take], [second_take] = first.takes, second.takes
    levels = shard_counters(repository)
    assert levels[first_take.shard or 0][1] >= 2
    # And the first is released, the second committed
    release_order(repository, "order-1")
    commit("order-2", repository)
    # Then the first's units are available again on its shard; the second's sold on its own
    expected = [[5, 0, 0] for _ in range(4)]
    assert second_take.shard is not None
    expected[second_take.shard][0] -= 2
    expected[second_take.shard][2] += 2
    assert shard_counters(repository) == [tuple(level) for level in expected]
    assert totals(repository) == (18, 0, 2)
    # And a retried release gives nothing back twice
    release_order(repository, "order-1")
    assert totals(repository) == (18, 0, 2)


def test_a_reservation_falls_back_to_the_next_shard_with_stock(products_table):
    # Given stock on shard 2 only
    for seed in range(4):  # whatever the random start shard
        repository = InventoryRepository(products_table, rng=random.Random(seed))
        hot_product(repository, [0, 0, 3, 0])
        # When one unit is reserved
        reservation = reserve_units(repository, f"order-{seed}")
        # Then it comes from shard 2, after one failed condition to learn that the SKU is hot
        # (the product item's) and one per empty shard tried
        assert reservation.takes == [StockTake(sku=HOT, shard=2, quantity=1)]
        start = random.Random(seed).randrange(4)
        assert reservation.attempts == 2 + shard_order(start, 4).index(2)
        assert shard_counters(repository)[2] == (2, 1, 0)


def test_a_line_no_single_shard_holds_is_split_over_several_atomically(products_table):
    # Given 2 + 2 + 1 units on three shards of four
    repository = InventoryRepository(products_table, rng=random.Random(1))
    hot_product(repository, [2, 2, 1, 0])
    # When an order wants 4
    reservation = reserve_units(repository, "order-1", 4)
    # Then it takes them from several shards in its one reservation, fullest first
    assert sorted((take.shard, take.quantity) for take in reservation.takes) == [(0, 2), (1, 2)]
    assert totals(repository) == (1, 4, 0)
    # And one wanting 2 of the 1 left is refused, touching nothing
    with pytest.raises(OutOfStock):
        reserve_units(repository, "order-2", 2)
    assert totals(repository) == (1, 4, 0)
    # And releasing the split reservation puts every unit back where it was
    release_order(repository, "order-1")
    assert shard_counters(repository) == [(2, 0, 0), (2, 0, 0), (1, 0, 0), (0, 0, 0)]


def test_a_retried_reservation_of_a_hot_sku_takes_once(products_table):
    repository = InventoryRepository(products_table)
    hot_product(repository, [3, 3, 3, 3])
    first = reserve_units(repository, "order-1", 2)
    again = reserve_units(InventoryRepository(products_table), "order-1", 2)
    assert again.takes == first.takes
    assert totals(repository) == (10, 2, 0)


# -- conversion, restocking and the catalogue -------------------------------------------------


def test_converting_to_hot_spreads_available_and_keeps_live_reservations_settleable(
    products_table,
):
    # Given an ordinary product with 100 units, 3 of them reserved by a running order
    repository = InventoryRepository(products_table)
    repository.put_product(
        Product(sku=HOT, name="Soon hot", price="5.00", available=103), overwrite=True
    )
    stale = InventoryRepository(products_table)  # an environment that saw it unsharded
    assert reserve_units(stale, "before", 3).takes == [StockTake(sku=HOT, quantity=3)]
    # When it is made hot over 8 shards
    repository.make_hot(HOT, 8)
    # Then its 100 available units are on the shards, none lost or created
    assert sum(available for available, _, _ in shard_counters(repository)) == 100
    assert (product_item()["available"], product_item()["reserved"]) == (0, 3)
    assert totals(repository) == (100, 3, 0)
    # And the environment that still believes it unsharded finds out and takes from a shard
    after = reserve_units(stale, "after", 1)
    assert [take.shard is not None for take in after.takes] == [True]
    # And the older reservation is released to the product item it came from
    release_order(repository, "before")
    assert (product_item()["available"], product_item()["reserved"]) == (3, 0)
    assert totals(repository) == (102, 1, 0)
    # And a rebalance moves those units into the shards
    repository.make_hot(HOT, 8)
    assert product_item()["available"] == 0
    assert totals(repository) == (102, 1, 0)


def test_the_shard_count_of_a_hot_sku_cannot_change(products_table):
    repository = InventoryRepository(products_table)
    hot_product(repository, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="sharded over 4 shards"):
        repository.make_hot(HOT, 8)


def test_restocking_a_hot_sku_spreads_the_units_over_its_shards(products_table):
    repository = InventoryRepository(products_table)
    hot_product(repository, [1, 0, 2, 0])
    repository.restock(HOT, 10)
    added = [
        available - before
        for (available, _, _), before in zip(shard_counters(repository), [1, 0, 2, 0], strict=True)
    ]
    assert sum(added) == 10
    assert sorted(added) == [2, 2, 3, 3]


def test_the_catalogue_shows_a_hot_skus_stock_summed_over_its_shards(
    products_table, lambda_context
):
    repository = InventoryRepository(products_table)
    hot_product(repository, [4, 0, 3, 2])
    reserve_units(repository, "order-1", 2)
    response = list_products.handler(api_event("GET", "/products"), lambda_context)
    [hot] = [p for p in json_body(response)["products"] if p["sku"] == HOT]
    assert hot["available"] == 7
    assert "shards" not in hot


def seed_event(products: list[dict[str, Any]], **properties: Any) -> dict[str, Any]:
    return {
        "RequestType": "Update",
        "PhysicalResourceId": "products-seed-test",
        "ResourceProperties": {"Products": products, **properties},
    }


@pytest.mark.usefixtures("bus")
def test_the_seed_marks_a_sku_hot_with_the_stages_shard_count_and_restocks_it(
    products_table, lambda_context, monkeypatch
):
    monkeypatch.setenv("STOCK_SHARDS", "6")
    entry = {"sku": HOT, "name": "Flash sale", "price": "5.00", "available": "60"}
    # Given an ordinary product, seeded
    seed_products.handler(seed_event([entry]), lambda_context)
    repository = InventoryRepository(products_table)
    assert repository.shard_levels(HOT) == []
    # When the seed marks it hot
    seed_products.handler(seed_event([{**entry, "hot": "true"}]), lambda_context)
    # Then its stock is on the stage's 6 shards, 10 each
    assert shard_counters(repository) == [(10, 0, 0)] * 6
    # And a restock through the seed spreads over them
    seed_products.handler(seed_event([], Restock=[{"sku": HOT, "quantity": "12"}]), lambda_context)
    assert shard_counters(repository) == [(12, 0, 0)] * 6


@pytest.mark.usefixtures("bus")
def test_the_seed_refuses_one_shard_and_a_changed_count(products_table, lambda_context):
    entry = {"sku": HOT, "name": "Flash sale", "price": "5.00", "available": "8", "shards": "1"}
    with pytest.raises(ValueError, match="at least 2 shards"):
        seed_products.handler(seed_event([entry]), lambda_context)
    seed_products.handler(seed_event([{**entry, "shards": "4"}]), lambda_context)
    with pytest.raises(ValueError, match="cannot change"):
        seed_products.handler(seed_event([{**entry, "shards": "8"}]), lambda_context)
