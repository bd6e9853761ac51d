"""The API edge on the emulator, through the deployed orders API: API keys, per-key rate limits
that hold although the emulator does not throttle, idempotent POST /orders, validated input, and
a schemathesis run against the committed OpenAPI document.

The demo keys are on the stage's plans (infra/plans.py): basic 5 requests/s in bursts of 10,
premium 50 requests/s in bursts of 100. Waits are computed from the answers' headers."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emulator.clients import client
from emulator.next_steps import local_api_url
from infra.plans import DEFAULT_USAGE_PLANS
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import Answer, KeyedApi, request
from tools.openapi import DOCUMENT

PLANS = {plan.name: plan for plan in DEFAULT_USAGE_PLANS}
BASIC, PREMIUM = PLANS["basic"], PLANS["premium"]
CUSTOMER = "edge-it"
ORDER = {
    "items": [{"sku": "SKU-STK-004", "quantity": 1}],
    "paymentToken": "tok_ok",
}


@pytest.fixture(scope="module")
def url(outputs: dict[str, str]) -> str:
    return local_api_url(outputs["OrdersApiId"])


@pytest.fixture(scope="module")
def basic(url: str, api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(url, api_keys["basic"], CUSTOMER, stage_issuer)


@pytest.fixture(scope="module")
def premium(url: str, api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(url, api_keys["premium"], CUSTOMER, stage_issuer)


def full_bucket(api: KeyedApi) -> None:
    """Wait until the key's bucket is full: one request tells how long that takes."""
    answer = api.request("GET", "/products")
    time.sleep(int(answer.headers["Retry-After"] or 0) if answer.status == 429 else 0)
    answer = api.request("GET", "/products")
    assert answer.status == 200, answer
    time.sleep(int(answer.headers["RateLimit-Reset"]) + 0.1)


def burst(api: KeyedApi, count: int) -> list[Answer]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: api.request("GET", "/products"), range(count)))


BURST = 25
"""The largest burst the rate-limit tests send."""


@pytest.fixture(scope="module")
def warm_products(premium: KeyedApi) -> None:
    """GET /products warm for a burst: its function's ``BURST`` execution environments exist.
    The limiter runs in the function, so a burst that met cold starts would reach it spread over
    seconds (environments made one after another on two cores), and what refilled meanwhile
    would let every request through: the tests are about the limiter, not cold starts. Sent
    with the premium key (bursts of 100), whose bucket refills in two seconds."""
    assert {answer.status for answer in burst(premium, BURST)} == {200}


# --- API keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "not-a-key-of-any-plan-0123456789"])
def test_missing_or_invalid_api_key_is_403(url: str, key: str | None) -> None:
    for method, path, body in [("GET", "/products", None), ("POST", "/orders", ORDER)]:
        answer = request(method, f"{url}{path}", body, api_key=key)
        assert answer.status == 403
        assert answer.body["message"]


# --- rate limits ------------------------------------------------------------------------------


def test_a_burst_above_the_limit_gets_429s_then_is_admitted_after_retry_after(
    basic: KeyedApi, warm_products: None
) -> None:
    # Given a basic key with a full bucket (bursts of 10, 5 requests/s)
    full_bucket(basic)
    # When 25 requests arrive at once
    started = time.monotonic()
    answers = burst(basic, BURST)
    elapsed = time.monotonic() - started
    # Then no more than the burst plus what refilled meanwhile got through
    admitted = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status == 429]
    assert len(admitted) + len(refused) == BURST
    assert BASIC.burst_limit <= len(admitted) <= BASIC.burst_limit + BASIC.rate_limit * elapsed + 1
    assert refused, f"{BURST} requests took {elapsed:.1f} s: the bucket refilled for all of them"
    # And every refusal says when to come back and what is left
    for answer in refused:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.headers["RateLimit-Remaining"] == "0"
        assert answer.headers["RateLimit-Limit"] == str(BASIC.burst_limit)
        assert answer.body["retryAfter"] == int(answer.headers["Retry-After"])
        assert "rate limit of plan basic exceeded" in answer.body["message"]
    # And admitted answers count down what remains
    assert {a.headers["X-RateLimit-Plan"] for a in admitted} == {"basic"}
    assert min(int(a.headers["RateLimit-Remaining"]) for a in admitted) == 0
    # When the client waits as long as it was told
    time.sleep(max(int(a.headers["Retry-After"]) for a in refused))
    # Then it is admitted again
    assert basic.request("GET", "/products").status == 200


def test_keys_on_different_plans_get_their_own_limits(
    basic: KeyedApi, premium: KeyedApi, warm_products: None
) -> None:
    # Given the basic key drained by a burst
    full_bucket(basic)
    answers = burst(basic, 2 * BASIC.burst_limit)
    assert any(a.status == 429 for a in answers)
    # When the premium key calls at the same time, in a burst of its own
    premium_answers = burst(premium, 2 * BASIC.burst_limit)
    # Then it is not throttled by the noisy basic key and sees its own plan
    assert {a.status for a in premium_answers} == {200}
    headers = premium_answers[0].headers
    assert (headers["X-RateLimit-Plan"], headers["RateLimit-Limit"]) == (
        "premium",
        str(PREMIUM.burst_limit),
    )
    assert (
        headers["RateLimit-Policy"] == f"{PREMIUM.burst_limit};w=2, {PREMIUM.daily_quota};w=86400"
    )


# --- idempotency ------------------------------------------------------------------------------


def orders_of(outputs: dict[str, str], customer: str) -> list[dict[str, Any]]:
    """The order items (sk ORDER) of one customer in the orders table."""
    pages = (
        client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=outputs["OrdersTableName"],
            FilterExpression="sk = :order AND customerId = :customer",
            ExpressionAttributeValues={":order": {"S": "ORDER"}, ":customer": {"S": customer}},
        )
    )
    return [item for page in pages for item in page["Items"]]


def test_the_same_idempotency_key_replayed_places_one_order(
    premium: KeyedApi, outputs: dict[str, str]
) -> None:
    customer = f"idem-{uuid.uuid4()}"
    premium = premium.as_customer(customer)
    body = ORDER
    key = {"Idempotency-Key": str(uuid.uuid4())}
    # When the same order is posted three times with one Idempotency-Key
    answers = [premium.request("POST", "/orders", body, headers=key) for _ in range(3)]
    # Then every answer is the first one, the retries marked as replays
    assert {a.status for a in answers} == {202}
    assert len({a.body["orderId"] for a in answers}) == 1
    assert [a.headers["Idempotent-Replayed"] for a in answers] == [None, "true", "true"]
    assert len({a.headers["Location"] for a in answers}) == 1
    # And the same key with another body is refused
    other = premium.request("POST", "/orders", {**body, "paymentToken": "tok_decline"}, headers=key)
    assert other.status == 422
    assert other.body["errors"][0]["field"] == "Idempotency-Key"
    # And exactly one order exists
    assert len(orders_of(outputs, customer)) == 1


# --- validated input --------------------------------------------------------------------------


def order(**changes: Any) -> str:
    return json.dumps({**ORDER, **changes})


LINE = {"sku": "SKU-MUG-001", "quantity": 1}


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ('{"paymentToken": "c",', 400, "body"),
        (json.dumps({"paymentToken": "t"}), 400, "items"),
        (order(customerId="c"), 400, "customerId"),  # the token names the customer
        (order(items=[{**LINE, "quantity": 0}]), 400, "items[0].quantity"),
        (order(items=[{**LINE, "quantity": "1"}]), 400, "items[0].quantity"),
        (order(items=[{**LINE, "sku": "SKU-NOPE-999"}]), 400, "items[0].sku"),
        (order(coupon="FREE"), 400, "coupon"),
        (order(items=[LINE] * 26), 400, "items"),
        (order(paymentToken="c" * 20_000), 413, "body"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_writes_nothing(
    premium: KeyedApi, outputs: dict[str, str], raw: str, status: int, field: str
) -> None:
    answer = premium.as_customer("c").request("POST", "/orders", raw=raw)
    assert answer.status == status, answer.body
    assert field in [error["field"] for error in answer.body["errors"]]
    assert orders_of(outputs, "c") == []


# --- the OpenAPI document against the deployed API --------------------------------------------

schema = schemathesis.openapi.from_path(DOCUMENT)
PACE_S = 1 / 25  # half the premium rate: the fuzzer tests the API, not its rate limit


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_the_deployed_api_matches_its_openapi_document(
    case: schemathesis.Case, url: str, api_keys: dict[str, str], stage_issuer: StageIssuer
) -> None:
    # Every generated request, valid or not: never a 5xx, and every answer (status, headers,
    # body) as documented. Not checked: that every schema-valid order is accepted (a valid SKU
    # pattern is not a SKU of the catalogue), nor stateful resource checks (nothing is deleted).
    time.sleep(PACE_S)
    case.call_and_validate(
        base_url=url,
        headers={
            "x-api-key": api_keys["premium"],
            "Authorization": f"Bearer {stage_issuer.token('fuzz-customer')}",
        },
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            negative_data_rejection,
            ignored_auth,
        ],
    )
