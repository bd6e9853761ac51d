"""GET /orders/{orderId}: ETag, 304, `wait` (long polling) through the handler, on moto.

The handler's clock is replaced by one that moves only when the request sleeps, and can
project an event at a given time: a 20 s wait runs in milliseconds, and the DynamoDB calls the
request makes are counted from the client's own events."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orders.dal import get_repository
from orders.handlers import get_order, place_order, projector
from tests.sample_events import fresh_delivery
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import PREMIUM_KEY_ID
from tests.unit.domain_common.sqs import sqs_record

CUSTOMER = "customer-42"
ORDER = {
    "items": [{"sku": "SKU-MUG-001", "quantity": 1}],
    "paymentToken": "tok_ok",
}


class SteppedClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []
        self.scheduled: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        for when, change in list(self.scheduled):
            if when <= self.t:
                self.scheduled.remove((when, change))
                change()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    monkeypatch.setattr(get_order, "clock", stepped)
    return stepped


VERSION_READ = "GetItem lastSequence"


@pytest.fixture
def dynamodb_calls(orders_table) -> Iterator[list[str]]:
    """The names of the DynamoDB operations the orders functions call (``GetItem``,
    ``UpdateItem``, ...), a read of the order's version alone as ``VERSION_READ``."""
    calls: list[str] = []
    client = get_repository()._client

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        version = params.get("ProjectionExpression") == "lastSequence"
        calls.append(VERSION_READ if version else model.name)

    client.meta.events.register("before-parameter-build.dynamodb.*", count)
    yield calls
    client.meta.events.unregister("before-parameter-build.dynamodb.*", count)


def get(
    order_id: str, lambda_context, *, query: dict[str, str] | None = None, known: str | None = None
) -> dict:
    event = api_event(
        "GET",
        f"/orders/{order_id}",
        resource="/orders/{orderId}",
        path_parameters={"orderId": order_id},
        query=query,
        headers={"If-None-Match": known} if known else None,
        api_key_id=PREMIUM_KEY_ID,
        customer=CUSTOMER,
    )
    return get_order.handler(event, lambda_context)


def place(lambda_context) -> str:
    event = api_event("POST", "/orders", body=ORDER, api_key_id=PREMIUM_KEY_ID, customer=CUSTOMER)
    return json_body(place_order.handler(event, lambda_context))["orderId"]


def project(order_id: str, name: str, lambda_context) -> None:
    batch = {"Records": [sqs_record(fresh_delivery(name, order_id))]}
    assert projector.handler(batch, lambda_context) == {"batchItemFailures": []}


def header(response: dict, name: str) -> str | None:
    """A header of a proxy response (the resolver answers in ``multiValueHeaders``)."""
    values = (response.get("multiValueHeaders") or {}).get(name)
    return values[0] if values else (response.get("headers") or {}).get(name)


def etag(response: dict) -> str:
    value = header(response, "ETag")
    assert value is not None
    return value


# -- ETag and conditional GET ----------------------------------------------------------------


def test_every_answer_has_an_etag_stable_until_the_order_changes(orders_table, lambda_context):
    order_id = place(lambda_context)
    first, again = get(order_id, lambda_context), get(order_id, lambda_context)
    assert first["statusCode"] == again["statusCode"] == 200
    assert etag(first) == etag(again)
    project(order_id, "order-placed", lambda_context)
    assert etag(get(order_id, lambda_context)) != etag(first)


def test_if_none_match_naming_the_current_etag_is_a_304_without_a_body(
    orders_table, lambda_context
):
    order_id = place(lambda_context)
    current = etag(get(order_id, lambda_context))
    response = get(order_id, lambda_context, known=current)
    assert response["statusCode"] == 304
    assert not response.get("body")
    assert etag(response) == current
    assert header(response, "RateLimit-Remaining") is not None


def test_if_none_match_naming_an_old_etag_gets_the_order(orders_table, lambda_context):
    order_id = place(lambda_context)
    old = etag(get(order_id, lambda_context))
    project(order_id, "order-placed", lambda_context)
    response = get(order_id, lambda_context, known=old)
    assert response["statusCode"] == 200
    assert [e["type"] for e in json_body(response)["history"]] == ["OrderPlaced"]


def test_a_conditional_get_of_an_unknown_order_is_404(orders_table, lambda_context):
    assert get("no-such-order", lambda_context, known="*")["statusCode"] == 404


# -- wait ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "problem"),
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("21", "less than or equal to 20"),
        ("1.5", "valid integer"),
        ("soon", "valid integer"),
        ("", "valid integer"),
    ],
)
def test_a_wait_that_is_not_1_to_20_whole_seconds_is_a_400_naming_it(
    orders_table, lambda_context, clock, wait, problem
):
    response = get("any-order", lambda_context, query={"wait": wait})
    assert response["statusCode"] == 400
    [error] = json_body(response)["errors"]
    assert error["field"] == "wait" and problem in error["problem"]
    assert clock.slept == []


def test_a_wait_over_the_stages_maximum_is_a_400_naming_it(
    orders_table, lambda_context, clock, monkeypatch
):
    monkeypatch.setenv("LONG_POLL_MAX_WAIT_SECONDS", "5")
    response = get("any-order", lambda_context, query={"wait": "6"})
    assert response["statusCode"] == 400
    assert json_body(response)["errors"] == [{"field": "wait", "problem": "at most 5 seconds"}]


def test_a_long_poll_answers_as_soon_as_the_order_changes(
    orders_table, lambda_context, clock, dynamodb_calls
):
    # Given a caller holding the order as it is, and an event projected 3 s into its wait
    order_id = place(lambda_context)
    known = etag(get(order_id, lambda_context))
    clock.scheduled.append((3.0, lambda: project(order_id, "order-placed", lambda_context)))
    dynamodb_calls.clear()
    # When it waits up to 20 s
    response = get(order_id, lambda_context, query={"wait": "20"}, known=known)
    # Then it is answered with the change within one interval of it (0.25 s), not at 20 s
    assert response["statusCode"] == 200
    assert [e["type"] for e in json_body(response)["history"]] == ["OrderPlaced"]
    assert etag(response) != known
    assert 3.0 <= clock.t <= 3.25
    # with a small read per interval and two full reads, besides the projector's own write:
    # at the start the view and the order item (no OrderPlaced recorded yet), after the
    # change the view alone (it has OrderPlaced)
    reads = [call for call in dynamodb_calls if call in ("GetItem", VERSION_READ)]
    assert reads[:2] == ["GetItem", "GetItem"] and reads[-1] == "GetItem"
    assert set(reads[2:-1]) == {VERSION_READ}


def test_a_long_poll_with_no_change_answers_304_at_the_deadline(
    orders_table, lambda_context, clock, dynamodb_calls
):
    order_id = place(lambda_context)
    known = etag(get(order_id, lambda_context))
    dynamodb_calls.clear()
    response = get(order_id, lambda_context, query={"wait": "20"}, known=known)
    assert response["statusCode"] == 304 and not response.get("body")
    assert etag(response) == known
    assert sum(clock.slept) == pytest.approx(20)
    # bounded cost: one full read at the start (the view, then the order item), then one
    # read of the version per 0.25 s: 4 reads per second (besides the limiter's UpdateItem)
    assert dynamodb_calls.count("GetItem") == 2
    assert dynamodb_calls.count(VERSION_READ) == 80


def test_a_long_poll_without_an_etag_answers_200_at_the_deadline(
    orders_table, lambda_context, clock
):
    order_id = place(lambda_context)
    response = get(order_id, lambda_context, query={"wait": "2"})
    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "PENDING"
    assert sum(clock.slept) == pytest.approx(2)


def test_a_long_poll_of_an_unknown_order_is_404_at_once(orders_table, lambda_context, clock):
    assert get("no-such-order", lambda_context, query={"wait": "20"})["statusCode"] == 404
    assert clock.slept == []


def test_a_long_poll_ends_before_the_function_times_out(
    orders_table, lambda_context, clock, monkeypatch
):
    # Given 5 s left of the invocation (a function timeout shorter than the wait)
    monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 5_000)
    order_id = place(lambda_context)
    known = etag(get(order_id, lambda_context))
    response = get(order_id, lambda_context, query={"wait": "20"}, known=known)
    # Then it answers with 2 s to spare
    assert response["statusCode"] == 304
    assert sum(clock.slept) == pytest.approx(3)
