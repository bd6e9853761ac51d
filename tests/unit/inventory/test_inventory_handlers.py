"""The inventory Lambda handlers: saga steps, GET /products and the seed custom resource."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from inventory.dal.repository import InventoryRepository
from inventory.errors import OutOfStock
from inventory.handlers import (
    commit_inventory,
    list_products,
    release_inventory,
    reserve_inventory,
    seed_products,
)
from inventory.models import Product, ProductWrite, Reservation, ReservationStatus
from shared_kernel.cloudevents import from_eventbridge
from shared_kernel.errors import MalformedEventError
from shared_kernel.models import OrderLine
from shared_kernel.publisher import PublishError
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.calls import dynamodb_calls
from tests.unit.domain_common.fixtures import BusSpy, fail_put_events
from tests.unit.domain_common.seed import seed_products as seed_catalogue

MUG, LAMP = "SKU-MUG-001", "SKU-LMP-007"


def step(order_id: str = "order-1", **extra) -> dict:
    return {"orderId": order_id, "correlationId": "corr-1", "causationId": "placed-1", **extra}


def available(repository: InventoryRepository, sku: str) -> int:
    product = repository.get_product(sku)
    assert product is not None
    return product.available


def test_reserve_step_returns_lines_and_publishes_inventory_reserved(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given a state machine state with extra keys the step does not need
    event = step(items=[{"sku": MUG, "quantity": 2}], total="25.00", paymentToken="tok_ok")
    # When the step runs
    output = reserve_inventory.handler(event, lambda_context)
    # Then it returns the reservation and InventoryReserved is on the bus, threaded to the flow
    assert output == {
        "orderId": "order-1",
        "status": "RESERVED",
        "lines": [{"sku": MUG, "quantity": 2}],
    }
    [delivered] = bus.delivered()
    reserved = from_eventbridge(delivered)
    assert (reserved.type, reserved.source, reserved.subject) == (
        "InventoryReserved",
        "orderflow.inventory",
        "order-1",
    )
    assert (reserved.correlationid, reserved.causationid) == ("corr-1", "placed-1")
    assert reserved.data == {"orderId": "order-1", "lines": [{"sku": MUG, "quantity": 2}]}


def test_reserve_step_out_of_stock_publishes_failure_then_raises(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given one lamp in stock
    # When an order wants two
    with pytest.raises(OutOfStock) as raised:
        reserve_inventory.handler(step(items=[{"sku": LAMP, "quantity": 2}]), lambda_context)
    # Then the state machine sees the stable error name, and the failure is on the bus
    assert type(raised.value).__name__ == "OutOfStock"
    [failed] = [from_eventbridge(event) for event in bus.delivered()]
    assert failed.type == "InventoryReservationFailed"
    assert failed.data == {"orderId": "order-1", "reason": "OUT_OF_STOCK", "sku": LAMP}
    assert available(repository, LAMP) == 1


def test_reserve_step_retried_after_publish_failure_reserves_once(
    repository: InventoryRepository, bus: BusSpy, lambda_context, monkeypatch
):
    # Given EventBridge rejects the event after the reservation was written
    event = step(items=[{"sku": MUG, "quantity": 2}])
    with monkeypatch.context() as patch:
        fail_put_events(patch)
        with pytest.raises(PublishError):
            reserve_inventory.handler(event, lambda_context)
    assert available(repository, MUG) == 98
    # When Step Functions retries the step
    reserve_inventory.handler(event, lambda_context)
    # Then stock moved once and the event is published this time
    assert available(repository, MUG) == 98
    assert bus.detail_types() == ["InventoryReserved"]


def test_a_first_reservation_is_one_transaction_and_a_repeat_returns_it(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given the last lamp, reserved by a first call of the step (one write, nothing read)
    event = step(items=[{"sku": LAMP, "quantity": 1}])
    with dynamodb_calls() as first:
        assert reserve_inventory.handler(event, lambda_context)["status"] == "RESERVED"
    assert first == ["TransactWriteItems"]
    assert available(repository, LAMP) == 0
    # When Step Functions runs the step again (a retry after a timeout), with the lamp sold out
    with dynamodb_calls() as repeat:
        output = reserve_inventory.handler(event, lambda_context)
    # Then its refused write finds the first reservation: RESERVED, not OUT_OF_STOCK
    assert repeat == ["TransactWriteItems", "GetItem"]
    assert output["status"] == "RESERVED"
    assert available(repository, LAMP) == 0
    assert bus.detail_types() == ["InventoryReserved", "InventoryReserved"]


def test_reserve_step_rejects_input_without_items(repository: InventoryRepository, lambda_context):
    with pytest.raises(MalformedEventError) as raised:
        reserve_inventory.handler(step(items=[]), lambda_context)
    assert raised.value.field == "items"


def test_release_step_compensates_once_and_reports_each_time(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given a reserved order
    reserve_inventory.handler(step(items=[{"sku": MUG, "quantity": 2}]), lambda_context)
    # When the compensation runs twice
    first = release_inventory.handler(step(), lambda_context)
    second = release_inventory.handler(step(), lambda_context)
    # Then stock is restored once and both runs report RELEASED (and publish, consumers dedupe)
    assert (
        first
        == second
        == {
            "orderId": "order-1",
            "status": "RELEASED",
            "lines": [{"sku": MUG, "quantity": 2}],
        }
    )
    assert available(repository, MUG) == 100
    assert bus.detail_types() == ["InventoryReserved", "InventoryReleased", "InventoryReleased"]


def test_release_step_without_reservation_is_a_quiet_no_op(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    output = release_inventory.handler(step("never-reserved"), lambda_context)
    assert output == {"orderId": "never-reserved", "lines": []}
    assert bus.delivered() == []


def test_reserve_step_after_release_reports_it_without_reserving_again(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given an order whose reservation was released by a compensation
    event = step(items=[{"sku": MUG, "quantity": 2}])
    reserve_inventory.handler(event, lambda_context)
    release_inventory.handler(step(), lambda_context)
    # When a stray retry of ReserveInventory arrives
    output = reserve_inventory.handler(event, lambda_context)
    # Then stock is untouched, the step says RELEASED, and no InventoryReserved is published
    assert output["status"] == "RELEASED"
    assert available(repository, MUG) == 100
    assert bus.detail_types() == ["InventoryReserved", "InventoryReleased"]


def test_commit_step_sells_the_reserved_units(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    reserve_inventory.handler(step(items=[{"sku": MUG, "quantity": 2}]), lambda_context)
    output = commit_inventory.handler(step(), lambda_context)
    assert output["status"] == "COMMITTED"
    product = repository.get_product(MUG)
    assert product is not None
    assert (product.available, product.reserved, product.sold) == (98, 0, 2)


def test_list_products_returns_catalogue_with_stock(
    repository: InventoryRepository, lambda_context
):
    # When the catalogue is listed
    response = list_products.handler(api_event("GET", "/products"), lambda_context)
    # Then every seeded product is there, priced as a decimal string, with its stock
    assert response["statusCode"] == 200
    products = json_body(response)["products"]
    assert [product["sku"] for product in products] == sorted(p["sku"] for p in seed_catalogue())
    mug = next(product for product in products if product["sku"] == MUG)
    assert mug == {"sku": MUG, "name": "Orderflow mug", "price": "12.50", "available": 100}


@pytest.mark.parametrize(("stored", "shown"), [("15", "15.00"), ("12.5", "12.50"), ("0.1", "0.10")])
def test_prices_are_shown_with_two_decimal_places_however_dynamodb_returns_them(
    repository: InventoryRepository, lambda_context, stored: str, shown: str
):
    # Given a price as DynamoDB gives numbers back: normalised, trailing zeros dropped
    table = repository._table
    table.update_item(
        Key={"pk": f"SKU#{MUG}", "sk": "PRODUCT"},
        UpdateExpression="SET price = :price",
        ExpressionAttributeValues={":price": Decimal(stored)},
    )
    # When the catalogue is listed
    products = json_body(list_products.handler(api_event("GET", "/products"), lambda_context))
    # Then the price has the one canonical form: two decimal places
    mug = next(product for product in products["products"] if product["sku"] == MUG)
    assert mug["price"] == shown


def test_list_products_in_stock_only_hides_sold_out(
    repository: InventoryRepository, lambda_context
):
    event = api_event("GET", "/products", query={"inStock": "true"})
    products = json_body(list_products.handler(event, lambda_context))["products"]
    skus = {product["sku"] for product in products}
    assert "SKU-OOS-008" not in skus
    assert len(skus) == len(seed_catalogue()) - 1


@pytest.mark.parametrize(
    ("query", "field", "problem"),
    [
        ({"inStock": "maybe"}, "inStock", "valid boolean"),
        ({"instock": "true"}, "instock", "unknown query parameter"),
    ],
)
def test_list_products_refuses_invalid_or_unknown_query_parameters(
    repository: InventoryRepository, lambda_context, query, field, problem
):
    response = list_products.handler(api_event("GET", "/products", query=query), lambda_context)
    assert response["statusCode"] == 400
    [error] = json_body(response)["errors"]
    assert error["field"] == field
    assert problem in error["problem"]


def custom_resource(request_type: str, products: list[dict], overwrite: str = "false") -> dict:
    # CloudFormation hands every property value over as a string
    stringly = [{key: str(value) for key, value in product.items()} for product in products]
    return {
        "RequestType": request_type,
        "ResourceProperties": {"Products": stringly, "Overwrite": overwrite},
    }


def test_seed_create_inserts_products_and_update_keeps_live_stock(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given a seeded table where 5 mugs are reserved by a running order
    catalogue = seed_catalogue()
    reserve_five_mugs(repository)
    repriced = [
        {**product, "price": "13.00"} if product["sku"] == MUG else product for product in catalogue
    ]
    new_product = {"sku": "SKU-NEW-999", "name": "New", "price": "1.00", "available": 3}
    # When the stack is updated with a new mug price and a new product
    result = seed_products.handler(
        custom_resource("Update", [*repriced, new_product]), lambda_context
    )
    # Then only the new product is inserted; the mug keeps its live stock, takes the new price
    assert result["Data"] == {"Inserted": 1, "Total": len(catalogue) + 1}
    mug = repository.get_product(MUG)
    assert mug is not None
    assert (mug.available, mug.reserved, str(mug.price)) == (95, 5, "13.00")
    new = repository.get_product("SKU-NEW-999")
    assert new is not None
    assert new.available == 3


def test_seed_overwrite_resets_stock_and_delete_is_a_no_op(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given 5 mugs reserved
    catalogue = seed_catalogue()
    reserve_five_mugs(repository)
    # When the seed runs with Overwrite
    result = seed_products.handler(custom_resource("Create", catalogue, "true"), lambda_context)
    # Then the seed's stock is written over the live one
    assert result["Data"]["Inserted"] == len(catalogue)
    assert available(repository, MUG) == 100
    # And deleting the resource leaves the products alone
    deleted = seed_products.handler(
        {"RequestType": "Delete", "PhysicalResourceId": result["PhysicalResourceId"]},
        lambda_context,
    )
    assert deleted == {"PhysicalResourceId": result["PhysicalResourceId"]}
    assert available(repository, MUG) == 100


def test_seed_publishes_every_price_with_a_new_version(
    repository: InventoryRepository, bus: BusSpy, lambda_context
):
    # Given the seeded table (version 1 of every price, see the fixture)
    catalogue = seed_catalogue()
    repriced = [
        {**product, "price": "13.00"} if product["sku"] == MUG else product for product in catalogue
    ]
    # When the stack is updated with a new mug price
    request = {**custom_resource("Update", repriced), "RequestId": "req-1"}
    seed_products.handler(request, lambda_context)
    # Then one ProductPriced per product is on the bus, about the SKU, with a newer version
    published = [from_eventbridge(event) for event in bus.delivered()]
    assert [event.type for event in published] == ["ProductPriced"] * len(catalogue)
    by_sku = {event.subject: event for event in published}
    assert set(by_sku) == {product["sku"] for product in catalogue}
    mug = by_sku[MUG]
    assert (mug.source, mug.correlationid) == ("orderflow.inventory", "req-1")
    assert mug.data == {"sku": MUG, "price": "13.00", "priceVersion": 2}
    # And the next seed publishes newer versions again (a new event each, never the same id)
    seed_products.handler(custom_resource("Update", repriced), lambda_context)
    again = {
        event.subject: event for event in map(from_eventbridge, bus.delivered()[-len(catalogue) :])
    }
    assert again[MUG].data["priceVersion"] == 3
    assert again[MUG].id != mug.id


def test_seed_fails_when_a_price_cannot_be_published(
    repository: InventoryRepository, bus: BusSpy, lambda_context, monkeypatch
):
    # Given EventBridge refuses every entry
    fail_put_events(monkeypatch)
    # Then the seed (the deployment) fails rather than leave other services without prices
    with pytest.raises(PublishError):
        seed_products.handler(custom_resource("Update", seed_catalogue()), lambda_context)


def test_price_versions_count_the_price_settings(repository: InventoryRepository):
    # The fixture wrote every product once with overwrite: version 1
    product = Product.model_validate(seed_catalogue()[0])
    assert repository.put_product(product, overwrite=False) == ProductWrite(
        inserted=False, price_version=2
    )
    assert repository.put_product(product, overwrite=True) == ProductWrite(
        inserted=True, price_version=3
    )
    new = product.model_copy(update={"sku": "SKU-NEW-999"})
    assert repository.put_product(new, overwrite=False) == ProductWrite(
        inserted=True, price_version=1
    )


def test_seed_rejects_missing_products(repository: InventoryRepository, lambda_context):
    with pytest.raises(ValueError, match="Products"):
        seed_products.handler({"RequestType": "Create", "ResourceProperties": {}}, lambda_context)


def test_seed_file_has_a_sold_out_and_a_scarce_product():
    # The out-of-stock scenarios (events/order-placed-out-of-stock.json) depend on these
    stock_by_sku = {product["sku"]: product["available"] for product in seed_catalogue()}
    assert 6 <= len(stock_by_sku) <= 10
    assert stock_by_sku["SKU-OOS-008"] == 0
    assert stock_by_sku[LAMP] == 1


def reserve_five_mugs(repository: InventoryRepository) -> None:
    now = datetime.now(UTC)
    lines = [OrderLine(sku=MUG, quantity=5)]
    repository.add_reservation(
        Reservation(
            order_id="order-1",
            status=ReservationStatus.RESERVED,
            lines=lines,
            created_at=now,
            updated_at=now,
        )
    )
