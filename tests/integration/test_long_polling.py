"""Long polling of GET /orders/{orderId}?wait=N and the conditional GETs of the orders API, on
the emulator (docs/following-an-order.md).

The changes are the test's own: events about an order id of its own put on the bus, which the
projector records in the order's history (InventoryReserved, PaymentAuthorized: nothing but
the projector and the audit act on them, so no saga runs)."""

import json
import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import Answer, KeyedApi, eventually
from tests.sample_events import fresh_entry

WITHIN_S = 1.0
"""How soon after a change is readable the long poll must have answered."""


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], CUSTOMER, stage_issuer
    )


CUSTOMER = "it-poll"
"""Whose orders these are: the events name them, so their token may read the orders."""


def put(name: str, order_id: str) -> None:
    entry = fresh_entry(name, order_id)
    detail = json.loads(entry["Detail"])
    detail["data"]["customerId"] = CUSTOMER
    entry = {**entry, "Detail": json.dumps(detail)}
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def history_length(answer: Answer) -> int:
    return len(answer.body["history"]) if answer.status == 200 else 0


@dataclass
class Timed:
    answer: Answer
    sent: float
    returned: float


def timed(api: KeyedApi, path: str, headers: dict[str, str] | None = None) -> Timed:
    sent = time.monotonic()
    answer = api.request("GET", path, headers=headers)
    return Timed(answer, sent, time.monotonic())


@pytest.fixture
def known_order(api: KeyedApi) -> tuple[str, str]:
    """An order of the test's own with one recorded event, and its ETag."""
    order_id = f"it-poll-{uuid.uuid4()}"
    put("inventory-reserved", order_id)

    def recorded() -> Answer | None:
        answer = api.request("GET", f"/orders/{order_id}")
        return answer if history_length(answer) == 1 else None

    first = eventually(recorded, timeout_s=30, every_s=0.2)
    return order_id, first.headers["ETag"]


def test_a_long_poll_answers_within_a_second_of_the_change(
    api: KeyedApi, known_order: tuple[str, str]
) -> None:
    order_id, etag = known_order
    path = f"/orders/{order_id}"
    # Given a long poll waiting (up to 20 s) with the order's current ETag
    answered: list[Timed] = []
    poll = threading.Thread(
        target=lambda: answered.append(timed(api, f"{path}?wait=20", {"If-None-Match": etag}))
    )
    poll.start()
    # and plain GETs from another execution environment, warm (a few answers, all 200: the
    # order has not changed)
    for _ in range(3):
        plain = timed(api, path)
        assert plain.answer.status == 200 and plain.answer.headers["ETag"] == etag
    assert not answered, "the long poll answered before anything changed"
    # When the order changes
    changed_at = time.monotonic()
    put("payment-authorized", order_id)

    # Then plain GETs (every 50 ms) see the change at some point ...
    def changed() -> Timed | None:
        probe = timed(api, path)
        return probe if history_length(probe.answer) == 2 else None

    seen = eventually(changed, timeout_s=15, every_s=0.05)
    poll.join(timeout=25)
    # ... and the long poll answered with it within a second of the first plain GET that did
    [long_poll] = answered
    assert long_poll.answer.status == 200
    assert [e["type"] for e in long_poll.answer.body["history"]] == [
        "InventoryReserved",
        "PaymentAuthorized",
    ]
    assert long_poll.answer.headers["ETag"] == seen.answer.headers["ETag"] != etag
    assert long_poll.returned > changed_at
    gap = long_poll.returned - seen.sent
    print(f"long poll answered {gap:+.3f} s after the change was first seen by a plain GET")
    assert gap < WITHIN_S


def test_if_none_match_still_current_at_the_deadline_is_a_304(
    api: KeyedApi, known_order: tuple[str, str]
) -> None:
    order_id, etag = known_order
    path = f"/orders/{order_id}"
    # without a wait: a conditional GET
    plain = api.request("GET", path, headers={"If-None-Match": etag})
    assert (plain.status, plain.body, plain.headers["ETag"]) == (304, None, etag)
    # with a wait of 2 s and nothing changing: 304 at the deadline
    waited = timed(api, f"{path}?wait=2", {"If-None-Match": etag})
    assert waited.answer.status == 304 and waited.answer.body is None
    assert waited.answer.headers["ETag"] == etag
    assert 2.0 <= waited.returned - waited.sent < 6.0
    # an out-of-range wait is a 400 naming it
    refused = api.request("GET", f"{path}?wait=21")
    assert refused.status == 400
    assert [e["field"] for e in refused.body["errors"]] == ["wait"]


def test_products_answer_304_to_their_etag(api: KeyedApi) -> None:
    def etag_then_304() -> tuple[Answer, Answer] | None:
        # the catalogue's stock may move between two calls (other orders): ask again then
        first = api.request("GET", "/products")
        assert first.status == 200
        again = api.request("GET", "/products", headers={"If-None-Match": first.headers["ETag"]})
        return (first, again) if again.status == 304 else None

    first, again = eventually(etag_then_304, timeout_s=10, every_s=0.2)
    assert again.body is None and again.headers["ETag"] == first.headers["ETag"]
    for answer in (first, again):
        assert answer.headers["Cache-Control"] == "public, max-age=5"  # dev
