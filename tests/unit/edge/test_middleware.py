"""``api_edge`` in front of a handler: 403 without a key, 429 with Retry-After past the plan's
limit, RateLimit-* headers on every answer, 413 for a large body, nothing when limiting is off."""

import json
import time
from functools import cache
from typing import Any

import pytest

from edge import middleware
from edge.dal import get_bucket_store
from edge.limiter import RateLimiter
from edge.middleware import api_edge
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import BASIC_KEY_ID, PREMIUM_KEY_ID, reset_edge

calls: list[dict[str, Any]] = []


@api_edge(max_body_bytes=100)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    calls.append(event)
    return {"statusCode": 200, "body": "{}", "multiValueHeaders": {"X-Own": ["kept"]}}


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    calls.clear()


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request of a test arrives at the same instant: what the limiter decides then does
    not depend on how fast this machine runs the test (a busy one would refill the bucket)."""
    now = time.time()
    frozen = cache(lambda: RateLimiter(get_bucket_store(), clock=lambda: now))
    monkeypatch.setattr(middleware, "get_limiter", frozen)


def headers(response: dict[str, Any]) -> dict[str, str]:
    merged = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return {**merged, **(response.get("headers") or {})}


def test_admitted_answers_carry_the_plans_limit_and_what_remains(rate_limit_table, lambda_context):
    response = handler(api_event("GET", "/products", api_key_id=BASIC_KEY_ID), lambda_context)
    assert response["statusCode"] == 200
    assert (
        headers(response).items()
        >= {
            "X-Own": "kept",
            "RateLimit-Limit": "10",
            "RateLimit-Remaining": "9",
            "RateLimit-Reset": "1",
            "RateLimit-Policy": "10;w=2, 10000;w=86400",
            "X-RateLimit-Plan": "basic",
            "X-Quota-Limit": "10000",
            "X-Quota-Remaining": "9999",
        }.items()
    )


def test_past_the_burst_the_answer_is_429_with_retry_after(rate_limit_table, lambda_context):
    # Given a basic key that used its burst of 10
    event = api_event("GET", "/products", api_key_id=BASIC_KEY_ID)
    for _ in range(10):
        assert handler(event, lambda_context)["statusCode"] == 200
    # When it calls again
    response = handler(event, lambda_context)
    # Then it is refused before the handler runs, told why and when to come back
    assert response["statusCode"] == 429
    assert len(calls) == 10
    assert (
        headers(response).items()
        >= {
            "Retry-After": "1",
            "RateLimit-Remaining": "0",
            "X-RateLimit-Plan": "basic",
        }.items()
    )
    body = json_body(response)
    assert body["retryAfter"] == 1
    assert "rate limit of plan basic exceeded (5 requests/s, bursts of 10)" in body["message"]


def test_keys_on_different_plans_have_their_own_limits(rate_limit_table, lambda_context):
    basic = api_event("GET", "/products", api_key_id=BASIC_KEY_ID)
    premium = api_event("GET", "/products", api_key_id=PREMIUM_KEY_ID)
    statuses = [handler(basic, lambda_context)["statusCode"] for _ in range(12)]
    assert statuses.count(429) == 2
    answer = handler(premium, lambda_context)
    assert (answer["statusCode"], headers(answer)["RateLimit-Limit"]) == (200, "100")


def test_a_key_no_plan_lists_gets_the_default_plan(rate_limit_table, lambda_context):
    answer = handler(api_event("GET", "/products", api_key_id="key-made-by-hand"), lambda_context)
    assert headers(answer)["X-RateLimit-Plan"] == "basic"


def test_no_api_key_is_403_with_a_clear_message(rate_limit_table, lambda_context):
    response = handler(api_event("GET", "/products", api_key_id=None), lambda_context)
    assert response["statusCode"] == 403
    assert "x-api-key" in json_body(response)["message"]
    assert calls == []


def test_a_body_over_the_limit_is_413_before_the_handler_parses_it(
    rate_limit_table, lambda_context
):
    response = handler(api_event("POST", "/orders", body="x" * 101), lambda_context)
    assert response["statusCode"] == 413
    assert json_body(response)["errors"] == [{"field": "body", "problem": "larger than 100 bytes"}]
    assert headers(response)["RateLimit-Limit"] == "10"
    assert calls == []


def test_multibyte_characters_count_as_bytes(rate_limit_table, lambda_context):
    body = json.dumps(
        "é" * 49, ensure_ascii=False
    )  # 51 characters, 100 bytes with the quotes: at the limit
    assert handler(api_event("POST", "/orders", body=body), lambda_context)["statusCode"] == 200
    body = json.dumps("é" * 50, ensure_ascii=False)  # 102 bytes
    assert handler(api_event("POST", "/orders", body=body), lambda_context)["statusCode"] == 413


def test_with_limiting_off_nothing_is_checked_or_added(monkeypatch, lambda_context):
    # Given the baseline function's environment (no table, no plans)
    for name in ("RATE_LIMIT_TABLE", "RATE_LIMIT_PLANS", "RATE_LIMIT_DEFAULT_PLAN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")
    reset_edge()
    event = api_event("GET", "/products", api_key_id=None)
    responses = [handler(event, lambda_context) for _ in range(30)]
    assert {r["statusCode"] for r in responses} == {200}
    assert "RateLimit-Limit" not in headers(responses[0])
