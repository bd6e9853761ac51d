"""Orders' copy of the catalogue's prices, kept from inventory's ProductPriced events (the
``CopyPrices`` rule puts each EventBridge event on the catalogue queue), and POST /orders
pricing from it."""

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from inventory import events as inventory_events
from orders import events as orders_events
from orders.dal.catalog import ProductCatalog
from orders.handlers import catalogue, place_order
from shared_kernel.cloudevents import CloudEvent, to_put_events_entry
from tests.sample_events import CATALOGUE_SAMPLES, delivered, fresh_entry, load_entry
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import BUS_NAME, PREMIUM_KEY_ID, TABLE_ENV
from tests.unit.domain_common.sqs import sqs_record

MUG = "SKU-MUG-001"


def priced(sku: str, price: str, version: int) -> CloudEvent:
    """ProductPriced as inventory publishes it."""
    data = inventory_events.ProductPricedData(sku=sku, price=Decimal(price), price_version=version)
    return inventory_events.product_priced(data, correlation_id=str(uuid.uuid4()))


def delivery(event: CloudEvent) -> dict[str, Any]:
    """The EventBridge event the catalogue queue receives for `event`."""
    return delivered(to_put_events_entry(event, BUS_NAME))


def consume(lambda_context, *bodies: Any) -> dict[str, Any]:
    records = [sqs_record(body) for body in bodies]
    return catalogue.handler({"Records": records}, lambda_context)


def copy(orders_table, sku: str = MUG) -> dict[str, Any]:
    [item] = orders_table.items(f"CATALOGUE#{sku}")
    return item


def post(items: list[dict], lambda_context) -> dict:
    body = {"items": items, "paymentToken": "tok_ok"}
    event = api_event(
        "POST", "/orders", body=body, api_key_id=PREMIUM_KEY_ID, customer="customer-42"
    )
    return place_order.handler(event, lambda_context)


# --- the consumer ---


def test_a_newer_price_replaces_the_copy(orders_table, lambda_context):
    # Given the copy holds the mug at 12.50 (version 1)
    # When inventory publishes version 2 at 13.00
    event = priced(MUG, "13.00", 2)
    assert consume(lambda_context, delivery(event)) == {"batchItemFailures": []}
    # Then the copy holds the new price, its version and the event it came from
    item = copy(orders_table)
    assert (item["sk"], item["price"], item["priceVersion"]) == ("PRICE", Decimal("13.00"), 2)
    assert item["eventId"] == event.id
    assert item["pricedAt"] == event.to_dict()["time"]


def test_the_same_event_twice_changes_nothing(orders_table, lambda_context):
    # Given version 2 of the mug's price, delivered twice in one batch and once more later
    body = delivery(priced(MUG, "13.00", 2))
    assert consume(lambda_context, body, body) == {"batchItemFailures": []}
    first = copy(orders_table)
    assert consume(lambda_context, body) == {"batchItemFailures": []}
    # Then the copy is the one the first delivery wrote (nothing rewritten, nothing failed)
    assert copy(orders_table) == first


def test_an_older_price_never_overwrites_a_newer_one(orders_table, lambda_context):
    # Given versions 3 and 2 of the mug's price arrive out of order (3 first)
    newer, older = priced(MUG, "14.00", 3), priced(MUG, "13.00", 2)
    consume(lambda_context, delivery(newer))
    # When the older one arrives, alone or in a batch after the newer
    assert consume(lambda_context, delivery(older)) == {"batchItemFailures": []}
    assert consume(lambda_context, delivery(newer), delivery(older)) == {"batchItemFailures": []}
    # Then the copy keeps version 3
    assert (copy(orders_table)["price"], copy(orders_table)["priceVersion"]) == (
        Decimal("14.00"),
        3,
    )


def test_a_sku_orders_never_heard_of_is_added(orders_table, lambda_context):
    consume(lambda_context, delivery(priced("SKU-NEW-100", "3.00", 1)))
    assert copy(orders_table, "SKU-NEW-100")["price"] == Decimal("3.00")


def detail_with(event: CloudEvent, **changes: Any) -> dict[str, Any]:
    body = delivery(event)
    body["detail"] = {**body["detail"], **changes}
    return body


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"data": {"sku": MUG, "price": "-1.00", "priceVersion": 9}}, id="price"),
        pytest.param({"data": {"sku": MUG, "price": "1.001", "priceVersion": 9}}, id="cents"),
        pytest.param({"data": {"sku": MUG, "price": "1.00"}}, id="no version"),
        pytest.param(
            {"data": {"sku": "SKU-LMP-007", "price": "1.00", "priceVersion": 9}},
            id="another sku than the subject",
        ),
        pytest.param({"subject": "not a sku!"}, id="subject"),
    ],
)
def test_a_malformed_event_fails_its_record_only(orders_table, lambda_context, change):
    # Given a batch of a malformed price and a valid one for another SKU
    bad = detail_with(priced(MUG, "1.00", 9), **change)
    good = delivery(priced("SKU-STK-004", "5.00", 2))
    records = [sqs_record(bad, message_id="bad"), sqs_record(good, message_id="good")]
    # When it is consumed
    response = catalogue.handler({"Records": records}, lambda_context)
    # Then only the malformed record fails (received again, then the DLQ), the mug's price is
    # untouched, and the other price is copied
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert copy(orders_table)["price"] == Decimal("12.50")
    assert copy(orders_table, "SKU-STK-004")["price"] == Decimal("5.00")


def test_an_event_that_is_no_price_fails_its_record(orders_table, lambda_context):
    # The rule sends only ProductPriced; anything else on the queue is a mistake
    other = delivered(fresh_entry("inventory-reserved"))
    assert consume(lambda_context, other)["batchItemFailures"] != []


def test_the_sample_event_is_a_price_orders_reads():
    for name in CATALOGUE_SAMPLES:
        entry = load_entry(name)
        event = CloudEvent.model_validate(json.loads(entry["Detail"]))
        data = event.data_as(orders_events.ProductPricedData)
        assert (entry["Source"], entry["DetailType"]) == (
            orders_events.INVENTORY_SOURCE,
            orders_events.PRODUCT_PRICED,
        )
        assert data.sku == event.subject


# --- pricing from the copy ---


def test_an_order_is_priced_with_the_price_orders_knows(orders_table, lambda_context):
    # Given inventory repriced the mug and orders heard of it
    consume(lambda_context, delivery(priced(MUG, "13.00", 2)))
    # When an order for two mugs is placed
    response = post([{"sku": MUG, "quantity": 2}], lambda_context)
    # Then it is priced from orders' copy
    assert response["statusCode"] == 202
    [order] = orders_table.orders()
    assert order["orderId"] == json_body(response)["orderId"]
    assert order["total"] == Decimal("26.00")
    assert order["items"] == [{"sku": MUG, "quantity": 2, "unitPrice": Decimal("13.00")}]


def test_a_sku_orders_has_not_heard_of_yet_is_unknown(orders_table, lambda_context):
    # Given a product inventory may have, whose price has not reached orders
    response = post([{"sku": "SKU-NEW-100", "quantity": 1}], lambda_context)
    # Then it is an unknown SKU, and nothing is written
    assert response["statusCode"] == 400
    assert json_body(response)["errors"] == [{"field": "items[0].sku", "problem": "unknown sku"}]
    assert orders_table.items() == []
    # And once its price arrives, the same order is accepted
    consume(lambda_context, delivery(priced("SKU-NEW-100", "3.00", 1)))
    assert post([{"sku": "SKU-NEW-100", "quantity": 1}], lambda_context)["statusCode"] == 202


def test_orders_reads_prices_from_its_own_table_only(tables):
    prices = ProductCatalog(TABLE_ENV["ORDERS_TABLE"]).prices([MUG, "SKU-NOPE"])
    assert prices == {MUG: Decimal("12.50")}
