"""Asynchronous payment confirmation end to end on the emulator: the sandbox provider confirms
``tok_async`` later through ``POST /webhooks/payments`` (signed, Standard Webhooks); a provider
that never confirms (``tok_async_silent``) cancels the order ``PAYMENT_TIMEOUT`` (Step Functions
time scaled); the webhook refuses forged, stale and replayed deliveries (the test signs as the
provider, with the secret read from Secrets Manager as the sandbox callback reads it); and no
event orderflow publishes, nor the saga's execution history, carries the payment token."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from payments.models import ProviderConfirmation
from payments.provider import confirmation_request
from tests.integration.support import KeyedApi, eventually, request, scaled_time, stocked_product
from tests.integration.test_shipment_timeout import execution_of, history, stock

FACTOR = 0.01  # payment_confirmation_seconds 300 -> 3 s
PAYMENT_CONFIRMATION_S = 300  # the template's (tests/infra/test_saga_timeouts.py)
SOURCES = ["orderflow.orders", "orderflow.inventory", "orderflow.payments", "orderflow.shipping"]


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-pay-async", stage_issuer
    )


@pytest.fixture(scope="module")
def provider_signer(outputs: dict[str, str]) -> Webhook:
    """The provider's signing key, read from Secrets Manager as the sandbox callback does."""
    secret = client("secretsmanager").get_secret_value(SecretId=outputs["PaymentWebhookSecretName"])
    return Webhook(secret["SecretString"].encode())


@pytest.fixture
def bus_tap(outputs: dict[str, str]) -> Iterator[str]:
    """A rule copying every event the services publish to a queue of the test's (deleted after):
    what any subscriber of the bus would get."""
    events, sqs = client("events"), client("sqs")
    name = f"it-tap-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name, EventBusName=outputs["BusName"], EventPattern=json.dumps({"source": SOURCES})
    )
    events.put_targets(
        Rule=name, EventBusName=outputs["BusName"], Targets=[{"Id": "tap", "Arn": arn}]
    )
    try:
        yield url
    finally:
        events.remove_targets(Rule=name, EventBusName=outputs["BusName"], Ids=["tap"])
        events.delete_rule(Name=name, EventBusName=outputs["BusName"])
        sqs.delete_queue(QueueUrl=url)


def tapped(url: str, seen: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Drain the tap into ``seen`` (by event id)."""
    sqs = client("sqs")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            event = json.loads(message["Body"])
            seen[event["id"]] = event
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def place(api: KeyedApi, sku: str, token: str) -> str:
    status, answer = api.http(
        "POST",
        "/orders",
        {"items": [{"sku": sku, "quantity": 1}], "paymentToken": token},
    )
    assert status == 202, answer
    return str(answer["orderId"])


def settled(api: KeyedApi, order_id: str, timeout_s: float = 60) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status, order = api.http("GET", f"/orders/{order_id}")
        return order if status == 200 and order["status"] in {"CONFIRMED", "CANCELLED"} else None

    return eventually(probe, timeout_s=timeout_s, every_s=0.25)


def payment(outputs: dict[str, str], order_id: str) -> dict[str, Any] | None:
    item = (
        client("dynamodb")
        .get_item(
            TableName=outputs["PaymentsTableName"],
            Key={"pk": {"S": f"AUTH#{order_id}"}, "sk": {"S": "AUTH"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return (
        None if item is None else {key: next(iter(value.values())) for key, value in item.items()}
    )


def entered(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(execution_arn)
        if "stateEnteredEventDetails" in e
    ]


def post_confirmation(
    outputs: dict[str, str], signer: Webhook, order_id: str, authorization_id: str, at: datetime
) -> tuple[int, Any, dict[str, str], str]:
    """The provider's webhook call, as the sandbox callback makes it."""
    body, headers = confirmation_request(
        ProviderConfirmation(order_id, authorization_id, "authorized"), signer, at
    )
    answer = send(outputs, body, headers)
    return answer[0], answer[1], headers, body


def send(outputs: dict[str, str], body: str, headers: dict[str, str]) -> tuple[int, Any]:
    url = f"{local_api_url(outputs['OrdersApiId'])}/webhooks/payments"
    answer = request("POST", url, raw=body, headers=headers)  # no API key
    return answer.status, answer.body


@pytest.mark.parametrize(
    ("token", "status", "reason", "payment_event"),
    [
        ("tok_async", "CONFIRMED", None, "PaymentAuthorized"),
        ("tok_async_decline", "CANCELLED", "PAYMENT_DECLINED", "PaymentDeclined"),
    ],
)
def test_the_providers_webhook_settles_a_pending_payment(  # noqa: PLR0917
    api: KeyedApi,
    outputs: dict[str, str],
    lambda_client: Any,
    bus_tap: str,
    token: str,
    status: str,
    reason: str | None,
    payment_event: str,
) -> None:
    # Given a product in stock
    sku = stocked_product(lambda_client, outputs, price="9.50", available=5)
    before = stock(outputs, sku)
    # When an order is paid with a token the provider confirms later, by its webhook
    started = time.monotonic()
    order_id = place(api, sku, token)
    order = settled(api, order_id)
    print(f"\n{token}: placed -> {order['status']} in {time.monotonic() - started:.1f} s")
    # Then the saga waited for the confirmation, and settled as the provider said
    assert (order["status"], order.get("reason")) == (status, reason), order
    assert payment_event in [entry["type"] for entry in order["history"]]
    execution = execution_of(outputs, order_id)
    states = entered(execution["executionArn"])
    assert states[states.index("AuthorizePayment") :][:3] == [
        "AuthorizePayment",
        "PaymentPending",
        "AwaitPaymentConfirmation",
    ]
    if status == "CANCELLED":
        assert stock(outputs, sku) == before
    # And the payment token is in no event any subscriber got, nor in the execution history
    seen: dict[str, dict[str, Any]] = {}
    eventually(
        lambda: any(
            e["detail-type"] in {"OrderConfirmed", "OrderCancelled"}
            for e in tapped(bus_tap, seen).values()
            if e["detail"]["subject"] == order_id
        ),
        timeout_s=30,
    )
    mine = [e for e in seen.values() if e["detail"]["subject"] == order_id]
    assert "OrderPlaced" in {e["detail-type"] for e in mine}
    assert not [e for e in mine if token in json.dumps(e) or "paymentToken" in json.dumps(e)]
    assert token not in json.dumps(history(execution["executionArn"]), default=str)


@pytest.fixture
def fast_time(emulator: None) -> Iterator[float]:
    with scaled_time(FACTOR) as factor:
        yield factor


def test_an_unconfirmed_payment_times_out_and_cancels_payment_timeout(
    fast_time: float, api: KeyedApi, outputs: dict[str, str], lambda_client: Any
) -> None:
    # Given a product in stock and Step Functions time 100x faster
    sku = stocked_product(lambda_client, outputs, price="9.50", available=5)
    before = stock(outputs, sku)
    # When an order is paid with a token the provider never confirms
    started = time.monotonic()
    order_id = place(api, sku, "tok_async_silent")
    order = settled(api, order_id)
    took = time.monotonic() - started
    print(f"\ntok_async_silent: placed -> {order['status']} in {took:.1f} s (scale {fast_time})")
    # Then after the (scaled) wait the payment is voided, the stock released, the order
    # cancelled PAYMENT_TIMEOUT
    assert (order["status"], order["reason"]) == ("CANCELLED", "PAYMENT_TIMEOUT"), order
    types = [entry["type"] for entry in order["history"]]
    assert {"InventoryReserved", "PaymentVoided", "InventoryReleased"} <= set(types), types
    assert stock(outputs, sku) == before
    assert (payment(outputs, order_id) or {}).get("status") == "VOIDED"
    assert took < PAYMENT_CONFIRMATION_S / 5
    execution = execution_of(outputs, order_id)
    states = entered(execution["executionArn"])
    assert states[states.index("AwaitPaymentConfirmation") :] == [
        "AwaitPaymentConfirmation",
        "PaymentNotConfirmed",
        "VoidPayment",
        "ReleaseInventory",
        "CancelOrder",
        "OrderCancelled",
    ]


def test_the_webhook_refuses_forged_stale_and_replayed_deliveries(
    api: KeyedApi, outputs: dict[str, str], lambda_client: Any, provider_signer: Webhook
) -> None:
    # Given an order whose payment waits for a confirmation the sandbox never sends (real time:
    # the wait is 300 s)
    sku = stocked_product(lambda_client, outputs, price="9.50", available=5)
    order_id = place(api, sku, "tok_async_silent")

    def waiting() -> dict[str, Any] | None:
        found = payment(outputs, order_id)
        return found if found is not None and "taskToken" in found else None

    pending = eventually(waiting, timeout_s=60)
    authorization_id = pending["authorizationId"]
    now = datetime.now(UTC)

    # A forged signature (another secret) is refused 401
    forged = Webhook(b"an attacker's guess at the provider's secret")
    status, answer, _, _ = post_confirmation(outputs, forged, order_id, authorization_id, now)
    assert status == 401 and answer["errors"][0]["field"] == "webhook-signature", answer
    # So is a properly signed delivery with a stale timestamp (beyond the 300 s tolerance)
    stale = now - timedelta(seconds=400)
    status, answer, _, _ = post_confirmation(
        outputs, provider_signer, order_id, authorization_id, stale
    )
    assert status == 401 and answer["errors"][0]["field"] == "webhook-timestamp", answer
    # And one for an authorisation that does not exist is 404
    status, answer, _, _ = post_confirmation(outputs, provider_signer, order_id, "auth-x", now)
    assert status == 404, answer
    assert (payment(outputs, order_id) or {})["status"] == "PENDING"

    # When the provider's genuine confirmation arrives, the order is confirmed
    status, answer, headers, body = post_confirmation(
        outputs, provider_signer, order_id, authorization_id, now
    )
    assert (status, answer) == (200, {"status": "recorded", "paymentStatus": "AUTHORIZED"})
    assert settled(api, order_id)["status"] == "CONFIRMED"
    # And the same delivery again (a replay) is acknowledged and not acted on
    assert send(outputs, body, headers) == (200, {"status": "duplicate"})
    status, order = api.http("GET", f"/orders/{order_id}")
    assert [e["type"] for e in order["history"]].count("PaymentAuthorized") == 1


def test_the_providers_secrets_are_in_no_function_configuration_or_output(
    outputs: dict[str, str], lambda_client: Any, provider_signer: Webhook
) -> None:
    secrets = client("secretsmanager")
    names = [outputs["PaymentWebhookSecretName"], "orderflow/dev/payment-provider-api-key"]
    values = [secrets.get_secret_value(SecretId=name)["SecretString"] for name in names]
    assert all(len(value) == 40 for value in values)
    pages = lambda_client.get_paginator("list_functions").paginate()
    configurations = [json.dumps(f, default=str) for page in pages for f in page["Functions"]]
    assert any(names[0] in configuration for configuration in configurations)  # by name only
    for value in values:
        assert not [c for c in configurations if value in c]
        assert value not in json.dumps(outputs)
