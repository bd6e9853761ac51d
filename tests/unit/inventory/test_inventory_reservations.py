"""Reservations against the products table: all-or-nothing, idempotent, never overselling."""

import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.dal.repository import InventoryRepository
from inventory.errors import OutOfStock, ReservationNotFound, ReservationReleased
from inventory.logic.reservations import commit, release, reserve
from inventory.models import Product, Reservation, ReservationStatus, ReserveInventoryInput
from shared_kernel.models import OrderLine, StepInput


class _Bus:
    def publish(self, events) -> None:
        pass


class Stock:
    """The reservation rules (logic.reservations) over the real repository on moto."""

    def __init__(self, repository: InventoryRepository) -> None:
        self._repository = repository

    def reserve(self, order_id: str, items: list[OrderLine]) -> Reservation:
        step = ReserveInventoryInput(order_id=order_id, correlation_id="corr-1", items=items)
        return reserve(step, self._repository, _Bus())

    def release(self, order_id: str) -> Reservation | None:
        step = StepInput(order_id=order_id, correlation_id="corr-1")
        return release(step, self._repository, _Bus())[0]

    def commit(self, order_id: str) -> Reservation:
        return commit(order_id, self._repository)


MUG, TEE, LAMP, SOLD_OUT = "SKU-MUG-001", "SKU-TEE-002", "SKU-LMP-007", "SKU-OOS-008"


def stock(repository: InventoryRepository, sku: str) -> tuple[int, int, int]:
    """(available, reserved, sold) of one product."""
    product = repository.get_product(sku)
    assert product is not None
    return product.available, product.reserved, product.sold


def line(sku: str, quantity: int) -> OrderLine:
    return OrderLine(sku=sku, quantity=quantity)


def test_reserve_moves_available_to_reserved_for_every_line(repository: InventoryRepository):
    # Given mugs (100) and tees (50) in stock
    # When an order reserves 3 mugs and 2 tees
    reservation = Stock(repository).reserve("order-1", [line(MUG, 3), line(TEE, 2)])
    # Then both products hold the units as reserved and the reservation is live
    assert stock(repository, MUG) == (97, 3, 0)
    assert stock(repository, TEE) == (48, 2, 0)
    assert reservation.status is ReservationStatus.RESERVED
    stored = repository.get_reservation("order-1")
    assert stored is not None
    assert stored.lines == [line(MUG, 3), line(TEE, 2)]


def test_repeated_skus_are_reserved_as_one_line(repository: InventoryRepository):
    # Given an order naming the mug twice
    # When it is reserved
    reservation = Stock(repository).reserve("order-1", [line(MUG, 1), line(TEE, 1), line(MUG, 2)])
    # Then one transaction line per SKU holds the summed quantity
    assert reservation.lines == [line(MUG, 3), line(TEE, 1)]
    assert stock(repository, MUG) == (97, 3, 0)


def test_reserving_the_same_order_twice_decrements_stock_once(repository: InventoryRepository):
    # Given an order already reserved
    first = Stock(repository).reserve("order-1", [line(MUG, 3)])
    # When the step is retried (even with different lines)
    second = Stock(repository).reserve("order-1", [line(MUG, 5)])
    # Then the first reservation is returned and stock moved once
    assert second == first
    assert stock(repository, MUG) == (97, 3, 0)


def test_out_of_stock_line_fails_the_whole_reservation(repository: InventoryRepository):
    # Given one lamp in stock
    # When an order wants 2 mugs and 2 lamps
    with pytest.raises(OutOfStock) as raised:
        Stock(repository).reserve("order-1", [line(MUG, 2), line(LAMP, 2)])
    # Then the lamp is named, and nothing was reserved, not even the mugs
    assert raised.value.sku == LAMP
    assert raised.value.reason == "OUT_OF_STOCK"
    assert stock(repository, MUG) == (100, 0, 0)
    assert stock(repository, LAMP) == (1, 0, 0)
    assert repository.get_reservation("order-1") is None


@pytest.mark.parametrize("sku", [SOLD_OUT, "SKU-DOES-NOT-EXIST"])
def test_sold_out_or_unknown_sku_is_out_of_stock(repository: InventoryRepository, sku: str):
    with pytest.raises(OutOfStock) as raised:
        Stock(repository).reserve("order-1", [line(sku, 1)])
    assert raised.value.sku == sku
    assert repository.get_product("SKU-DOES-NOT-EXIST") is None


@pytest.mark.usefixtures("atomic_dynamodb_requests")
def test_concurrent_reservers_never_oversell(repository: InventoryRepository):
    # Given a product with 5 units
    repository.put_product(
        Product(sku="SKU-HOT", name="hot item", price="10.00", available=5), overwrite=True
    )
    start = threading.Barrier(20)
    reserved: list[str] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []

    def reserve(order_id: str) -> None:
        start.wait()
        try:
            Stock(repository).reserve(order_id, [line("SKU-HOT", 1)])
            reserved.append(order_id)
        except OutOfStock:
            refused.append(order_id)
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            unexpected.append(exc)

    # When 20 orders reserve one unit each, all at once
    threads = [threading.Thread(target=reserve, args=(f"order-{n}",)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly 5 succeed, 15 are refused, and the counters agree with the reservations
    assert unexpected == []
    assert (len(reserved), len(refused)) == (5, 15)
    assert stock(repository, "SKU-HOT") == (0, 5, 0)
    live = [order for order in reserved if repository.get_reservation(order) is not None]
    assert sorted(live) == sorted(reserved)
    assert all(repository.get_reservation(order) is None for order in refused)


@pytest.mark.usefixtures("atomic_dynamodb_requests")
def test_concurrent_retries_of_one_order_reserve_once(repository: InventoryRepository):
    # Given 10 concurrent deliveries of the same ReserveInventory step
    start = threading.Barrier(10)
    results = []

    def reserve() -> None:
        start.wait()
        results.append(Stock(repository).reserve("order-1", [line(MUG, 4)]))

    threads = [threading.Thread(target=reserve) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then all of them see one reservation and stock moved once
    assert len(results) == 10
    assert len({result.created_at for result in results}) == 1
    assert stock(repository, MUG) == (96, 4, 0)


def test_release_gives_stock_back_once(repository: InventoryRepository):
    # Given a live reservation
    Stock(repository).reserve("order-1", [line(MUG, 3), line(TEE, 1)])
    # When the compensation runs twice
    first = Stock(repository).release("order-1")
    second = Stock(repository).release("order-1")
    # Then stock is back to where it was, exactly once
    assert first is not None
    assert second is not None
    assert first.status is second.status is ReservationStatus.RELEASED
    assert stock(repository, MUG) == (100, 0, 0)
    assert stock(repository, TEE) == (50, 0, 0)


def test_releasing_a_missing_reservation_is_a_no_op(repository: InventoryRepository):
    assert Stock(repository).release("never-reserved") is None
    assert stock(repository, MUG) == (100, 0, 0)


def test_commit_moves_reserved_to_sold_once(repository: InventoryRepository):
    # Given a live reservation of 3 mugs
    Stock(repository).reserve("order-1", [line(MUG, 3)])
    # When it is committed twice
    Stock(repository).commit("order-1")
    committed = Stock(repository).commit("order-1")
    # Then the 3 units are sold, once, and a later release leaves them sold
    assert committed.status is ReservationStatus.COMMITTED
    assert stock(repository, MUG) == (97, 0, 3)
    released = Stock(repository).release("order-1")
    assert released is not None
    assert released.status is ReservationStatus.COMMITTED
    assert stock(repository, MUG) == (97, 0, 3)


def test_commit_refuses_a_released_or_missing_reservation(repository: InventoryRepository):
    Stock(repository).reserve("order-1", [line(MUG, 3)])
    Stock(repository).release("order-1")
    with pytest.raises(ReservationReleased):
        Stock(repository).commit("order-1")
    with pytest.raises(ReservationNotFound):
        Stock(repository).commit("order-2")
    assert stock(repository, MUG) == (100, 0, 0)


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "release", "commit"]),
        st.integers(min_value=0, max_value=4),  # which order
        st.integers(min_value=1, max_value=4),  # quantity when reserving
    ),
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_stock_is_conserved_and_never_negative(repository: InventoryRepository, steps):
    # Given a fresh product with 6 units (a new SKU per example: the table outlives examples)
    sku = f"SKU-{uuid.uuid4().hex[:8].upper()}"
    repository.put_product(Product(sku=sku, name="p", price="1.00", available=6), overwrite=True)
    orders = [f"{sku}-order-{n}" for n in range(5)]
    # When any sequence of reserve / release / commit runs
    for action, order, quantity in steps:
        try:
            if action == "reserve":
                Stock(repository).reserve(orders[order], [line(sku, quantity)])
            elif action == "release":
                Stock(repository).release(orders[order])
            else:
                Stock(repository).commit(orders[order])
        except (OutOfStock, ReservationNotFound, ReservationReleased):
            pass
        # Then no counter is negative and no unit appears or disappears
        available, reserved, sold = stock(repository, sku)
        assert min(available, reserved, sold) >= 0
        assert available + reserved + sold == 6
    # And the counters agree with the reservations' own states
    reservations = [repository.get_reservation(order) for order in orders]
    by_status = dict.fromkeys(ReservationStatus, 0)
    for reservation in reservations:
        if reservation is not None:
            by_status[reservation.status] += reservation.lines[0].quantity
    assert stock(repository, sku)[1:] == (
        by_status[ReservationStatus.RESERVED],
        by_status[ReservationStatus.COMMITTED],
    )
