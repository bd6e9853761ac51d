"""Outgoing webhooks on the emulator: a receiver this test starts on 127.0.0.1 (the emulator's
functions run as host processes, so loopback is this machine; the dev stage allows it)
verifies every delivery's signature with the secret ``POST /webhooks`` answered.

Deliveries are started by putting an event of events/ (fresh ids) on the bus, as the
services do."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from emulator.clients import client
from emulator.next_steps import local_api_url
from tests.integration.support import KeyedApi, eventually
from tests.sample_events import fresh_entry
from webhooks.dal.rule import rule_address

# dev's schedule (infra/webhook_settings.py): retry 1 within 2 s, retry 2 within 10 s. The
# emulator adds its own latency (the queue's poll, the function's start): SLACK_S.
FIRST_RETRY_S, SECOND_RETRY_S, ATTEMPT_TIMEOUT_S = 2, 10, 3
SLACK_S = 3


@dataclass
class Hit:
    at: float
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Endpoint:
    """One path of the receiver: the statuses to answer in turn (then 204), a delay, the
    secret to verify with, and what it received.

    Other tests' sagas may still publish while this one runs, and a subscription receives
    every event of its types: only deliveries of ``event_id`` (set by ``put_event``) count;
    any other is answered 204 and kept apart in ``strays``, so it neither counts as a hit nor
    consumes a status."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0
    event_id: str = ""
    hits: list[Hit] = field(default_factory=list)
    strays: list[Hit] = field(default_factory=list)

    def is_stray(self, body: bytes) -> bool:
        try:
            return not self.event_id or json.loads(body).get("id") != self.event_id
        except ValueError:
            return False


class Receiver:
    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.subscriptions: list[tuple[KeyedApi, str]] = []
        """What the tests subscribed, deleted at the end (a stopped receiver's subscriptions
        would fail every later event on the same emulator)."""
        self._stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                endpoint = receiver.endpoints.get(self.path)
                if endpoint is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                headers = dict(self.headers.items())
                try:
                    Webhook(endpoint.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                if endpoint.is_stray(body):
                    endpoint.strays.append(Hit(at, headers, body, verified))
                    self.send_response(204)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                endpoint.hits.append(Hit(at, headers, body, verified))
                if endpoint.delay_s:
                    receiver._stop.wait(endpoint.delay_s)
                status = endpoint.statuses.pop(0) if endpoint.statuses else 204
                self.send_response(status if verified else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def path(self) -> str:
        name = f"/hooks/{uuid.uuid4().hex[:8]}"
        self.endpoints[name] = Endpoint()
        return name

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    threading.Thread(target=started.server.serve_forever, daemon=True).start()
    yield started
    for api, subscription_id in started.subscriptions:
        api.http("DELETE", f"/webhooks/{subscription_id}")
    started.close()


@pytest.fixture(scope="module")
def basic(outputs: dict[str, str], api_keys: dict[str, str]) -> KeyedApi:
    return KeyedApi(local_api_url(outputs["OrdersApiId"]), api_keys["basic"])


@pytest.fixture(scope="module")
def premium(outputs: dict[str, str], api_keys: dict[str, str]) -> KeyedApi:
    return KeyedApi(local_api_url(outputs["OrdersApiId"]), api_keys["premium"])


def subscribe(api: KeyedApi, receiver: Receiver, event_types: list[str]) -> tuple[dict, Endpoint]:
    path = receiver.path()
    status, created = api.http(
        "POST", "/webhooks", {"url": receiver.base + path, "eventTypes": event_types}
    )
    assert status == 201, created
    receiver.subscriptions.append((api, created["id"]))
    endpoint = receiver.endpoints[path]
    endpoint.secret = created["secret"]
    return created, endpoint


def put_event(name: str, *endpoints: Endpoint) -> dict[str, Any]:
    """Puts a fresh copy of an event of events/ on the bus; the endpoints given count only
    its deliveries from then on."""
    entry = fresh_entry(name)
    detail = json.loads(entry["Detail"])
    for endpoint in endpoints:
        endpoint.event_id = detail["id"]
    assert client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    return detail


def attempts(api: KeyedApi, subscription_id: str) -> list[dict[str, Any]]:
    status, answer = api.http("GET", f"/webhooks/{subscription_id}/deliveries")
    assert status == 200, answer
    return list(reversed(answer["items"]))  # oldest first


def logged_attempts(
    api: KeyedApi, subscription_id: str, message_id: str, count: int
) -> list[dict[str, Any]]:
    """The attempt log of one message once it has ``count`` attempts (empty before)."""
    found = [a for a in attempts(api, subscription_id) if a["messageId"] == message_id]
    return found if len(found) >= count else []


def rule_state(outputs: dict[str, str]) -> str:
    bus, name = rule_address(outputs["WebhookFanOutRuleArn"])
    return str(client("events").describe_rule(Name=name, EventBusName=bus)["State"])


# First in this module: it needs a time with no subscription (the module's receiver deletes
# its tests' subscriptions at the end; no other module subscribes).
def test_the_fan_out_rule_is_disabled_without_subscriptions_and_enabled_by_one(
    outputs: dict[str, str], basic: KeyedApi, premium: KeyedApi, receiver: Receiver
) -> None:
    for api in (basic, premium):  # left by an interrupted run, their receivers long gone
        status, listed = api.http("GET", "/webhooks")
        assert status == 200, listed
        for subscription in listed["items"]:
            api.http("DELETE", f"/webhooks/{subscription['id']}")
    put_event("order-confirmed")
    eventually(lambda: rule_state(outputs) == "DISABLED", timeout_s=60)

    created, endpoint = subscribe(basic, receiver, ["OrderConfirmed"])
    assert rule_state(outputs) == "ENABLED"  # before POST /webhooks answered
    event = put_event("order-confirmed", endpoint)
    hit = eventually(lambda: endpoint.hits, timeout_s=60)[0]
    assert json.loads(hit.body)["id"] == event["id"]

    status, _ = basic.http("DELETE", f"/webhooks/{created['id']}")
    assert status == 204
    put_event("order-confirmed")
    eventually(lambda: rule_state(outputs) == "DISABLED", timeout_s=60)


def test_failed_deliveries_are_retried_with_backoff_and_the_same_id(
    basic: KeyedApi, receiver: Receiver
) -> None:
    # Given a subscription whose receiver fails twice, then succeeds
    created, endpoint = subscribe(basic, receiver, ["OrderConfirmed"])
    endpoint.statuses = [500, 503]

    # When an OrderConfirmed is put on the bus
    event = put_event("order-confirmed", endpoint)

    # Then three attempts come, signed, with one webhook-id, within the schedule's bounds
    eventually(lambda: len(endpoint.hits) >= 3, timeout_s=60)
    hits = endpoint.hits[:3]
    assert all(hit.verified for hit in hits)
    assert len({hit.headers["webhook-id"] for hit in hits}) == 1
    assert json.loads(hits[2].body)["id"] == event["id"]
    first_gap, second_gap = hits[1].at - hits[0].at, hits[2].at - hits[1].at
    assert first_gap < FIRST_RETRY_S + SLACK_S, first_gap
    assert second_gap < SECOND_RETRY_S + SLACK_S, second_gap
    # and the attempt log lists them with their status codes
    message_id = hits[0].headers["webhook-id"]
    logged = eventually(lambda: logged_attempts(basic, created["id"], message_id, 3))
    assert [(a["attempt"], a["statusCode"], a["outcome"]) for a in logged] == [
        (1, 500, "failed"),
        (2, 503, "failed"),
        (3, 204, "delivered"),
    ]


def test_a_slow_subscriber_does_not_delay_another(
    basic: KeyedApi, premium: KeyedApi, receiver: Receiver
) -> None:
    # Given two subscribers to the same event, one of which hangs past the attempt timeout
    _, slow = subscribe(basic, receiver, ["OrderCancelled"])
    slow.delay_s = 30
    _, fast = subscribe(premium, receiver, ["OrderCancelled"])

    # When the event is put on the bus
    put_event("order-cancelled", slow, fast)

    # Then the fast one has its delivery while the slow one still hangs on its first attempt
    eventually(lambda: fast.hits and slow.hits, timeout_s=30, every_s=0.1)
    assert fast.hits[0].verified
    assert fast.hits[0].at < slow.hits[0].at + ATTEMPT_TIMEOUT_S
    slow.delay_s = 0


def test_another_clients_webhook_is_not_found_and_unsafe_urls_are_refused(
    basic: KeyedApi, premium: KeyedApi, receiver: Receiver
) -> None:
    created, _ = subscribe(basic, receiver, ["OrderConfirmed"])

    for method, tail in [("GET", ""), ("GET", "/deliveries"), ("POST", "/rotate-secret")]:
        status, answer = premium.http(method, f"/webhooks/{created['id']}{tail}")
        assert status == 404, (method, tail, answer)
    assert created["id"] not in [w["id"] for w in premium.http("GET", "/webhooks")[1]["items"]]

    for url in ("https://169.254.169.254/latest", "http://hooks.example.com/", "https://10.1.2.3/"):
        status, answer = basic.http(
            "POST", "/webhooks", {"url": url, "eventTypes": ["OrderConfirmed"]}
        )
        assert status == 400, answer
        assert [e["field"] for e in answer["errors"]] == ["url"]
    status, answer = basic.http(
        "POST", "/webhooks", {"url": receiver.base + "/x", "eventTypes": ["OrderShipped"]}
    )
    assert (status, answer["errors"][0]["field"]) == (400, "eventTypes")


def test_rotation_signs_with_both_secrets_and_redelivery_keeps_the_id(
    basic: KeyedApi, receiver: Receiver
) -> None:
    created, endpoint = subscribe(basic, receiver, ["OrderConfirmed"])
    put_event("order-confirmed", endpoint)
    eventually(lambda: endpoint.hits, timeout_s=30)
    # the message is kept (for redelivery) once the attempt is settled, just after the POST
    message_id = endpoint.hits[0].headers["webhook-id"]
    eventually(lambda: logged_attempts(basic, created["id"], message_id, 1), timeout_s=30)

    status, rotated = basic.http("POST", f"/webhooks/{created['id']}/rotate-secret")
    assert status == 200, rotated
    status, queued = basic.http(
        "POST", f"/webhooks/{created['id']}/deliveries/{message_id}/redeliver"
    )
    assert (status, queued["messageId"]) == (202, message_id)

    eventually(lambda: len(endpoint.hits) >= 2, timeout_s=30)
    again = endpoint.hits[1]
    assert again.headers["webhook-id"] == message_id
    for secret in (created["secret"], rotated["secret"]):
        assert Webhook(secret).verify(again.body, again.headers)
