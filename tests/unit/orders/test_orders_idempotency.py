"""POST /orders with an Idempotency-Key: one order per key and body, whatever the retries."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from orders.handlers import place_order
from tests.unit.domain_common.apigw import json_body
from tests.unit.domain_common.fixtures import (
    BASIC_KEY_ID,
    PREMIUM_KEY_ID,
    REGION,
    TABLE_ENV,
)
from tests.unit.orders.test_orders_api import VALID_BODY, post


def keyed(key: str, api_key_id: str = PREMIUM_KEY_ID, body: dict | None = None):
    def send(lambda_context) -> dict:
        return post(
            body or VALID_BODY, lambda_context, {"Idempotency-Key": key}, api_key_id=api_key_id
        )

    return send


def idempotency_table():
    return boto3.resource("dynamodb", region_name=REGION).Table(TABLE_ENV["IDEMPOTENCY_TABLE"])


def idempotency_records() -> list[dict]:
    return idempotency_table().scan()["Items"]


def test_replaying_a_key_with_the_same_body_answers_the_first_response(
    orders_table, lambda_context
):
    send = keyed("order-attempt-1")
    # Given an order placed with an Idempotency-Key
    first = send(lambda_context)
    assert first["statusCode"] == 202
    # When the client retries with the same key and body (twice)
    replays = [send(lambda_context) for _ in range(2)]
    # Then it gets the first answer again, marked as a replay
    for replay in replays:
        assert replay["statusCode"] == 202
        assert json_body(replay) == json_body(first)
        assert replay["multiValueHeaders"]["Location"] == first["multiValueHeaders"]["Location"]
        assert replay["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    assert "Idempotent-Replayed" not in first["multiValueHeaders"]
    # And exactly one order and one OrderPlaced exist
    assert len(orders_table.orders()) == 1
    assert len(orders_table.outbox()) == 1


def test_the_same_body_with_whitespace_or_reordered_keys_is_the_same_request(
    orders_table, lambda_context
):
    reordered = dict(reversed(list(VALID_BODY.items())))
    first = keyed("k-1")(lambda_context)
    again = keyed("k-1", body=reordered)(lambda_context)
    assert json_body(again) == json_body(first)
    assert len(orders_table.orders()) == 1


def test_reusing_a_key_with_another_body_is_refused_and_creates_nothing(
    orders_table, lambda_context
):
    keyed("order-attempt-2")(lambda_context)
    # When the key comes back with another body
    other = {**VALID_BODY, "items": [{"sku": "SKU-MUG-001", "quantity": 5}]}
    response = keyed("order-attempt-2", body=other)(lambda_context)
    # Then it is a 422 that names the header, and still only the first order exists
    assert response["statusCode"] == 422
    assert json_body(response)["errors"] == [
        {"field": "Idempotency-Key", "problem": "reused with a different body"}
    ]
    assert len(orders_table.orders()) == 1


def test_a_request_still_in_progress_gets_a_retryable_409(
    orders_table, lambda_context, monkeypatch
):
    # Given a first request with a key that is still being processed (pricing hangs)
    priced = threading.Event()
    release = threading.Event()
    catalog = place_order.get_catalog()

    class SlowCatalog:
        def prices(self, skus):
            priced.set()
            release.wait(10)
            return catalog.prices(skus)

    monkeypatch.setattr(place_order, "get_catalog", SlowCatalog)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(keyed("slow-one"), lambda_context)
        assert priced.wait(10)
        # When the client retries meanwhile
        response = keyed("slow-one")(lambda_context)
        release.set()
        # Then it is told to come back later, and the first request still completes
        assert first.result(timeout=10)["statusCode"] == 202
    assert response["statusCode"] == 409
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert "still in progress" in json_body(response)["message"]
    # And one order exists; retrying now replays it
    assert len(orders_table.orders()) == 1
    retry = keyed("slow-one")(lambda_context)
    assert json_body(retry) == json_body(first.result())


def test_keys_belong_to_one_client(orders_table, lambda_context):
    # Two clients that happen to pick the same Idempotency-Key each get their own order
    first = keyed("shared-key", PREMIUM_KEY_ID)(lambda_context)
    second = keyed("shared-key", BASIC_KEY_ID)(lambda_context)
    assert json_body(first)["orderId"] != json_body(second)["orderId"]
    assert len(orders_table.orders()) == 2


def test_without_a_key_every_post_is_a_new_order(orders_table, lambda_context):
    post(VALID_BODY, lambda_context)
    post(VALID_BODY, lambda_context)
    assert len(orders_table.orders()) == 2
    assert idempotency_records() == []


def test_a_failed_request_does_not_burn_its_key(orders_table, lambda_context):
    # Given a request refused for an unknown SKU
    bad = {**VALID_BODY, "items": [{"sku": "SKU-NOPE", "quantity": 1}]}
    assert keyed("retry-me", body=bad)(lambda_context)["statusCode"] == 400
    # When the client fixes the body and retries with the same key
    # Then the order is placed (errors are not remembered)
    assert keyed("retry-me")(lambda_context)["statusCode"] == 202
    assert len(orders_table.orders()) == 1


def test_keys_expire_after_an_hour(orders_table, lambda_context):
    # Given an order placed with a key
    first = keyed("old-key")(lambda_context)
    [record] = idempotency_records()
    # The record lives one hour (then DynamoDB's TTL deletes it)
    assert int(record["expiration"]) == pytest.approx(time.time() + 3600, abs=5)
    # When the hour is over (TTL deletion is lazy: the record may still be there)
    idempotency_table().update_item(
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    again = keyed("old-key")(lambda_context)
    # Then the key is new again: a new order
    assert again["statusCode"] == 202
    assert json_body(again)["orderId"] != json_body(first)["orderId"]
    assert len(orders_table.orders()) == 2
