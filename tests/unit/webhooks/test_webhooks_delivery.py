"""Fan-out and delivery on moto, to a real HTTP receiver on 127.0.0.1: signed deliveries
(verified with ``standardwebhooks``), retries re-sent with the same ``webhook-id``, the DLQ
with the reason, disabling after consecutive failures, the attempt log, concurrency."""

import ipaddress
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.sample_events import fresh_delivery
from tests.unit.domain_common.fixtures import BASIC_KEY_ID
from tests.unit.webhooks.conftest import Queues, Receiver, fan_out_rule_state
from tests.unit.webhooks.helpers import call, deliver_batch, fan_out_batch, on, subscribe
from webhooks.dal import get_subscriptions
from webhooks.dal.transport import HttpTransport
from webhooks.handlers import deliver
from webhooks.logic.delivery import MAX_SQS_DELAY_SECONDS, deferred, next_attempt
from webhooks.models import DeliveryMessage


def queued(queues: Queues, count: int) -> list[dict[str, Any]]:
    messages = queues.deliveries()
    assert len(messages) == count, messages
    return messages


def deliveries(subscription_id: str) -> list[dict[str, Any]]:
    status, answer = on("GET", subscription_id, "/deliveries")
    assert status == 200, answer
    return answer["items"]


def test_an_event_fans_out_to_each_enabled_subscription_of_its_type(
    queues: Queues, receiver: Receiver
) -> None:
    confirmed = subscribe(receiver.url, ["OrderConfirmed"])
    both = subscribe(receiver.url, ["OrderConfirmed", "OrderCancelled"])
    subscribe(receiver.url, ["OrderCancelled"])
    event = fresh_delivery("order-confirmed")

    assert fan_out_batch(event) == {"batchItemFailures": []}

    messages = queued(queues, 2)
    assert {m["subscriptionId"] for m in messages} == {confirmed["id"], both["id"]}
    assert all(m["event"]["id"] == event["detail"]["id"] for m in messages)
    assert all(m["attempt"] == 1 and m["eventType"] == "OrderConfirmed" for m in messages)
    assert len({m["messageId"] for m in messages}) == 2


def test_the_payment_token_is_never_delivered(queues: Queues, receiver: Receiver) -> None:
    subscribe(receiver.url, ["OrderPlaced"])
    event = fresh_delivery("order-placed")
    assert "paymentToken" in event["detail"]["data"]

    fan_out_batch(event)

    [message] = queued(queues, 1)
    assert "paymentToken" not in message["event"]["data"]
    assert message["event"]["data"]["orderId"] == event["detail"]["data"]["orderId"]


def test_a_new_or_deleted_subscription_is_seen_by_the_next_event(
    queues: Queues, receiver: Receiver
) -> None:
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 0)
    created = subscribe(receiver.url, ["OrderConfirmed"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 1)
    on("DELETE", created["id"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 0)


def test_with_no_subscription_the_fan_out_disables_its_rule_and_a_new_one_enables_it(
    queues: Queues, receiver: Receiver
) -> None:
    assert fan_out_rule_state() == "ENABLED"  # as deployed
    assert fan_out_batch(fresh_delivery("order-confirmed")) == {"batchItemFailures": []}
    assert fan_out_rule_state() == "DISABLED"
    queued(queues, 0)

    subscribe(receiver.url, ["OrderConfirmed"])
    assert fan_out_rule_state() == "ENABLED"
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 1)
    assert fan_out_rule_state() == "ENABLED"


def test_subscriptions_of_other_types_keep_the_rule_enabled(
    queues: Queues, receiver: Receiver
) -> None:
    subscribe(receiver.url, ["OrderCancelled"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 0)
    assert fan_out_rule_state() == "ENABLED"


def test_a_disabled_subscription_lets_the_rule_be_disabled_and_enabling_it_enables_the_rule(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    get_subscriptions().set_enabled(BASIC_KEY_ID, created["id"], False)  # as after failures
    fan_out_batch(fresh_delivery("order-confirmed"))
    assert fan_out_rule_state() == "DISABLED"

    status, _ = on("POST", created["id"], "/enable")
    assert status == 200
    assert fan_out_rule_state() == "ENABLED"


def test_a_delivery_is_signed_and_verifies_with_the_subscriptions_secret(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    [message] = queued(queues, 1)

    assert deliver_batch(message) == {"batchItemFailures": []}

    [request] = receiver.received
    payload = Webhook(created["secret"]).verify(request.body, request.headers)
    assert payload == message["event"]
    assert request.headers["webhook-id"] == message["messageId"]
    assert request.headers["content-type"] == "application/json"
    assert request.path == "/hooks"
    [attempt] = deliveries(created["id"])
    assert (attempt["outcome"], attempt["statusCode"], attempt["attempt"]) == ("delivered", 204, 1)
    queued(queues, 0)


def test_a_failed_attempt_is_sent_again_with_the_same_id_and_the_next_attempt_number(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    receiver.statuses = [500, 503]
    fan_out_batch(fresh_delivery("order-confirmed"))
    [first] = queued(queues, 1)

    assert deliver_batch(first) == {"batchItemFailures": []}  # the record leaves the batch
    [second] = queued(queues, 1)
    assert (second["messageId"], second["attempt"], second["lastError"]) == (
        first["messageId"],
        2,
        "HTTP 500",
    )
    deliver_batch(second)
    [third] = queued(queues, 1)
    deliver_batch(third)
    queued(queues, 0)

    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert ids == [first["messageId"]] * 3
    attempts = deliveries(created["id"])  # newest first
    assert [(a["attempt"], a["statusCode"], a["outcome"]) for a in attempts] == [
        (3, 204, "delivered"),
        (2, 503, "failed"),
        (1, 500, "failed"),
    ]
    _, read = on("GET", created["id"])
    assert read["consecutiveFailures"] == 0  # a success resets the run


def test_a_retry_waits_its_backoff_in_the_queue(
    queues: Queues, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(receiver.url, ["OrderConfirmed"])
    receiver.statuses = [500]
    monkeypatch.setattr(deliver, "jitter", lambda: 0.99)  # 1.98 s of the first retry's 2: 1
    fan_out_batch(fresh_delivery("order-confirmed"))
    deliver_batch(*queued(queues, 1))

    queued(queues, 0)  # delayed: not visible yet
    deadline = time.monotonic() + 10
    while not (found := queues.deliveries()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [m["attempt"] for m in found] == [2]


def test_exhausted_attempts_go_to_the_dlq_with_the_reason(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    receiver.statuses = [500, 500, 500]
    fan_out_batch(fresh_delivery("order-confirmed"))
    message = queued(queues, 1)[0]
    for _ in range(3):  # the test schedule allows 3 attempts
        deliver_batch(message)
        found = queues.deliveries()
        if not found:
            break
        [message] = found

    [dead] = queues.dead_letters()
    assert dead["MessageAttributes"]["reason"]["StringValue"] == (
        "3 attempts failed (last: HTTP 500)"
    )
    assert json.loads(dead["Body"])["subscriptionId"] == created["id"]
    assert len(receiver.received) == 3


def test_consecutive_failures_disable_the_subscription_and_the_api_enables_it(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    receiver.statuses = [500] * 4
    for _ in range(2):  # two events, two failed attempts each: 4 in a row (the threshold)
        fan_out_batch(fresh_delivery("order-confirmed"))
        deliver_batch(*queued(queues, 1))
        deliver_batch(*queued(queues, 1))
        queues.deliveries()  # the third attempts are not made here

    status, read = on("GET", created["id"])
    assert read["enabled"] is False
    assert read["disabledReason"].startswith("4 consecutive failed deliveries")
    fan_out_batch(fresh_delivery("order-confirmed"))
    queued(queues, 0)  # a disabled subscription is sent nothing

    status, enabled = on("POST", created["id"], "/enable")
    assert status == 200
    assert (enabled["enabled"], enabled["consecutiveFailures"]) == (True, 0)
    fan_out_batch(fresh_delivery("order-confirmed"))
    deliver_batch(*queued(queues, 1))
    assert deliveries(created["id"])[0]["outcome"] == "delivered"


def test_a_message_for_a_disabled_subscription_is_skipped_and_can_be_redelivered(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    receiver.statuses = [500] * 4
    fan_out_batch(fresh_delivery("order-confirmed"))
    [message] = queued(queues, 1)
    for _ in range(4):
        deliver_batch({**message, "attempt": 1})
        queues.deliveries()
    deliver_batch(message)  # disabled by now

    assert deliveries(created["id"])[0]["outcome"] == "skipped"
    on("POST", created["id"], "/enable")
    status, answer = call(
        "POST",
        f"/webhooks/{created['id']}/deliveries/{message['messageId']}/redeliver",
        resource="/webhooks/{id}/deliveries/{messageId}/redeliver",
        path_parameters={"id": created["id"], "messageId": message["messageId"]},
    )
    assert (status, answer) == (202, {"messageId": message["messageId"], "status": "queued"})
    [again] = queued(queues, 1)
    deliver_batch(again)
    assert receiver.received[-1].headers["webhook-id"] == message["messageId"]
    assert deliveries(created["id"])[0]["outcome"] == "delivered"


def test_during_a_rotation_deliveries_verify_with_either_secret(
    queues: Queues, receiver: Receiver
) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    deliver_batch(*queued(queues, 1))  # the deliverer has the first secret in its cache now
    _, rotated = on("POST", created["id"], "/rotate-secret")

    fan_out_batch(fresh_delivery("order-confirmed"))
    deliver_batch(*queued(queues, 1))

    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], rotated["secret"]):
        assert Webhook(secret).verify(request.body, request.headers)


def test_a_slow_subscriber_does_not_delay_another(queues: Queues, receiver: Receiver) -> None:
    slow = subscribe(receiver.url.replace("/hooks", "/slow"), ["OrderConfirmed"])
    fast_receiver_url = receiver.url  # same server: the handler delays only while told
    fast = subscribe(fast_receiver_url, ["OrderConfirmed"], key="key-premium")
    receiver.delay = 5  # longer than the 1 s attempt timeout
    fan_out_batch(fresh_delivery("order-confirmed"))
    messages = sorted(queued(queues, 2), key=lambda m: m["subscriptionId"] != slow["id"])

    started = time.monotonic()
    deliver_batch(*messages)
    elapsed = time.monotonic() - started

    assert elapsed < 2.5  # one attempt timeout (1 s) and the bookkeeping, not 2 x 5 s
    [slow_attempt] = deliveries(slow["id"])
    assert slow_attempt["outcome"] == "failed"
    assert slow_attempt["error"] == "timed out after 1 s"
    fast_attempts = call(
        "GET",
        f"/webhooks/{fast['id']}/deliveries",
        key="key-premium",
        resource="/webhooks/{id}/deliveries",
        path_parameters={"id": fast["id"]},
    )[1]["items"]
    assert [a["outcome"] for a in fast_attempts] == ["failed"]  # same slow server...
    assert fast_attempts[0]["durationMs"] < 2000  # ...but it did not wait for the other


def test_an_address_resolved_at_delivery_is_checked_and_refused(
    queues: Queues, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = subscribe("https://hooks.example.com/orderflow", ["OrderConfirmed"])
    monkeypatch.setattr(
        HttpTransport, "resolve", lambda self, host, port: [ipaddress.ip_address("10.0.0.7")]
    )

    def never(*args: Any) -> int:
        raise AssertionError("a refused destination is never connected to")

    monkeypatch.setattr(HttpTransport, "post", never)
    fan_out_batch(fresh_delivery("order-confirmed"))

    deliver_batch(*queued(queues, 1))

    [attempt] = deliveries(created["id"])
    assert attempt["outcome"] == "refused"
    assert attempt["error"] == "refused: 10.0.0.7 is private"
    [retry] = queued(queues, 1)
    assert retry["attempt"] == 2


def test_a_deleted_subscriptions_messages_are_dropped(queues: Queues, receiver: Receiver) -> None:
    created = subscribe(receiver.url, ["OrderConfirmed"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    [message] = queued(queues, 1)
    on("DELETE", created["id"])

    assert deliver_batch(message) == {"batchItemFailures": []}
    assert receiver.received == []
    queued(queues, 0)


def test_a_malformed_delivery_message_fails_alone(queues: Queues, receiver: Receiver) -> None:
    subscribe(receiver.url, ["OrderConfirmed"])
    fan_out_batch(fresh_delivery("order-confirmed"))
    [good] = queued(queues, 1)

    result = deliver_batch({"messageId": "nope"}, good)

    assert len(result["batchItemFailures"]) == 1
    assert len(receiver.received) == 1


def message(**fields: Any) -> DeliveryMessage:
    return DeliveryMessage.model_validate(
        {
            "messageId": "msg_" + "a" * 32,
            "subscriptionId": "wh_" + "b" * 24,
            "client": BASIC_KEY_ID,
            "event": {},
            "eventType": "OrderConfirmed",
            **fields,
        }
    )


def test_a_backoff_longer_than_sqs_allows_is_delayed_again_until_due() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    following, delay = next_attempt(message(), "HTTP 500", 3600, now)
    assert delay == MAX_SQS_DELAY_SECONDS
    assert following.not_before == (now + timedelta(hours=1)).timestamp()

    again = deferred(following, now + timedelta(seconds=900))
    assert again is not None and again[1] == MAX_SQS_DELAY_SECONDS
    last = deferred(again[0], now + timedelta(seconds=3000))
    assert last is not None and last[1] == 600 and last[0].not_before is None
    assert deferred(following, now + timedelta(hours=1)) is None
    short, delay = next_attempt(message(), "HTTP 500", 1.9, now)
    assert (delay, short.not_before) == (1, None)  # rounded down: the cap holds
