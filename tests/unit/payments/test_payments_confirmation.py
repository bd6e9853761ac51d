"""Asynchronous payment confirmation: the sandbox provider's async tokens, the payment token read
from the orders store, the saga's wait (and its race with the webhook), the webhook's checks
(signature, timestamp, replay, unknown authorisation, malformed body), the reason mapping."""

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from standardwebhooks.webhooks import Webhook

from orders.dal.repository import OrdersRepository
from orders.events import order_placed
from orders.logic.lifecycle import cancellation_reason
from orders.models import Order, OrderStatus, PricedLine, StepError
from payments.dal.order_tokens import OrderPaymentTokens
from payments.dal.repository import PaymentsRepository
from payments.dal.sandbox import reachable_url
from payments.errors import PaymentDeclined, PaymentTimeout, UnknownAuthorization
from payments.handlers import authorize_payment, await_payment_confirmation, payment_webhook
from payments.logic.authorization import void
from payments.models import ProviderConfirmation
from payments.provider import (
    ProviderAuthenticationFailed,
    SimulatedPaymentProvider,
    confirmation_request,
)
from shared_kernel import aws
from shared_kernel.cloudevents import from_eventbridge
from tests.unit.domain_common.apigw import api_event, json_body
from tests.unit.domain_common.fixtures import TABLE_ENV, BusSpy
from tests.unit.payments.conftest import (
    WEBHOOK_SECRET_VALUE,
    scheduled_confirmations,
    store_token,
)

SIGNER = Webhook(WEBHOOK_SECRET_VALUE.encode())


class FakeStepFunctions:
    """Records SendTaskSuccess / SendTaskFailure; a token in ``gone`` answers TaskTimedOut."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []
        self.gone: set[str] = set()

    def _check(self, token: str, operation: str) -> None:
        if token in self.gone:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "x"}}, operation)

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        self._check(taskToken, "SendTaskSuccess")
        self.answers.append(("success", taskToken, json.loads(output)))
        return {}

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> dict[str, Any]:
        self._check(taskToken, "SendTaskFailure")
        self.answers.append(("failure", taskToken, (error, json.loads(cause))))
        return {}


@pytest.fixture
def step_functions(payments_table: str, monkeypatch: pytest.MonkeyPatch) -> FakeStepFunctions:
    fake = FakeStepFunctions()
    monkeypatch.setattr(aws.stepfunctions(), "send_task_success", fake.send_task_success)
    monkeypatch.setattr(aws.stepfunctions(), "send_task_failure", fake.send_task_failure)
    return fake


def authorize(order_id: str, token: str, lambda_context) -> dict[str, Any]:
    store_token(order_id, token)
    step = {"orderId": order_id, "total": "20.00", "correlationId": "corr-1", "causationId": "p-1"}
    return authorize_payment.handler(step, lambda_context)


def wait(order_id: str, authorization_id: str, task_token: str, lambda_context) -> str:
    step = {
        "orderId": order_id,
        "authorizationId": authorization_id,
        "taskToken": task_token,
        "correlationId": "corr-1",
        "causationId": "p-1",
    }
    return str(await_payment_confirmation.handler(step, lambda_context)["outcome"])


def deliver(
    lambda_context,
    order_id: str,
    authorization_id: str,
    outcome: str = "authorized",
    *,
    at: datetime | None = None,
    signer: Webhook = SIGNER,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST /webhooks/payments as the provider sends it (API Gateway: no API key)."""
    confirmation = ProviderConfirmation(order_id, authorization_id, outcome)  # type: ignore[arg-type]
    signed_body, signed = confirmation_request(confirmation, signer, at or datetime.now(UTC))
    if body is not None:  # a body of the test's, signed properly
        signed["webhook-signature"] = signer.sign(
            signed["webhook-id"], at or datetime.now(UTC), body
        )
    event = api_event(
        "POST",
        "/webhooks/payments",
        body=body if body is not None else signed_body,
        headers={**signed, **(headers or {})},
        api_key_id=None,
    )
    response = payment_webhook.handler(event, lambda_context)
    return response["statusCode"], json_body(response)


# --- the provider and the token ---


def test_async_tokens_are_pending_and_their_confirmations_scheduled(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    outputs = {
        token: authorize(f"order-{token.replace('_', '-')}", token, lambda_context)
        for token in ("tok_async", "tok_async_decline", "tok_async_silent")
    }
    assert {output["status"] for output in outputs.values()} == {"PENDING"}
    assert bus.delivered() == []  # the confirmation publishes the outcome, not the step
    scheduled = {(c["order_id"], c["outcome"], c["reason"]) for c in scheduled_confirmations()}
    assert scheduled == {
        ("order-tok-async", "authorized", None),
        ("order-tok-async-decline", "declined", "CARD_DECLINED"),
    }  # tok_async_silent: never confirmed


def test_the_provider_refuses_a_wrong_api_key():
    provider = SimulatedPaymentProvider(
        lambda _: 1, api_key=lambda: "stale", issued_key=lambda: "current", latency_ms=0
    )
    with pytest.raises(ProviderAuthenticationFailed):
        provider.authorize("order-1", Decimal("1.00"), "tok_ok")


def test_authorize_reads_the_token_orders_stores_and_declines_without_one(
    payments_table: str, bus: BusSpy, lambda_context
):
    # Given an order placed through orders' own store (its token kept beside it)
    order = Order(
        order_id="order-api",
        customer_id="c-1",
        status=OrderStatus.PENDING,
        items=[PricedLine(sku="SKU-MUG-001", quantity=1, unit_price=Decimal("20.00"))],
        total=Decimal("20.00"),
        correlation_id="corr-1",
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    OrdersRepository(TABLE_ENV["ORDERS_TABLE"]).create_order(order, order_placed(order), "tok_ok")
    # Then payments' port reads that token, and the step authorises with it
    assert OrderPaymentTokens(TABLE_ENV["ORDERS_TABLE"]).payment_token("order-api") == "tok_ok"
    step = {"orderId": "order-api", "total": "20.00", "correlationId": "corr-1"}
    assert authorize_payment.handler(step, lambda_context)["status"] == "AUTHORIZED"
    # And an order whose token is not in the store is declined, without a provider call
    with pytest.raises(PaymentDeclined) as raised:
        authorize_payment.handler({**step, "orderId": "order-none"}, lambda_context)
    assert raised.value.decline_reason == "NO_PAYMENT_TOKEN"


# --- the wait and the webhook ---


def test_the_webhook_confirms_and_answers_the_waiting_saga(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    # Given a PENDING authorisation whose saga waits
    pending = authorize("order-1", "tok_async", lambda_context)
    assert wait("order-1", pending["authorizationId"], "token-1", lambda_context) == "waiting"
    assert step_functions.answers == []
    # When the provider confirms it
    status, body = deliver(lambda_context, "order-1", pending["authorizationId"])
    # Then it is recorded, PaymentAuthorized is published in the order's flow, and the saga's
    # wait is answered with the authorisation
    assert (status, body) == (200, {"status": "recorded", "paymentStatus": "AUTHORIZED"})
    [event] = [from_eventbridge(e) for e in bus.delivered()]
    assert (event.type, event.subject, event.correlationid, event.causationid) == (
        "PaymentAuthorized",
        "order-1",
        "corr-1",
        "p-1",
    )
    assert step_functions.answers == [
        (
            "success",
            "token-1",
            {
                "orderId": "order-1",
                "status": "AUTHORIZED",
                "authorizationId": pending["authorizationId"],
                "amount": "20.00",
            },
        )
    ]


def test_a_decline_fails_the_wait_with_payment_declined(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    pending = authorize("order-1", "tok_async_decline", lambda_context)
    wait("order-1", pending["authorizationId"], "token-1", lambda_context)
    status, body = deliver(lambda_context, "order-1", pending["authorizationId"], "declined")
    assert (status, body["paymentStatus"]) == (200, "DECLINED")
    [(kind, token, (error, cause))] = step_functions.answers
    assert (kind, token, error, cause["reason"]) == (
        "failure",
        "token-1",
        PaymentDeclined.__name__,
        "PAYMENT_DECLINED",
    )
    assert [from_eventbridge(e).type for e in bus.delivered()] == ["PaymentDeclined"]


def test_a_confirmation_before_the_wait_is_answered_by_the_wait_itself(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    # Given the provider's confirmation arrived before the saga stored its task token (race)
    pending = authorize("order-1", "tok_async", lambda_context)
    assert deliver(lambda_context, "order-1", pending["authorizationId"])[0] == 200
    assert step_functions.answers == []  # nobody to answer yet
    # When the saga's wait starts
    outcome = wait("order-1", pending["authorizationId"], "token-late", lambda_context)
    # Then it answers its own task at once
    assert outcome == "completed"
    [(kind, token, output)] = step_functions.answers
    assert (kind, token, output["status"]) == ("success", "token-late", "AUTHORIZED")


def test_the_wait_refuses_an_unknown_authorisation(payments_table: str, lambda_context):
    with pytest.raises(UnknownAuthorization):
        wait("order-1", "auth-none", "token-1", lambda_context)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"signer": Webhook(b"not-the-provider's-secret-at-all")}, "webhook-signature"),
        ({"headers": {"webhook-signature": "v1,AAAA"}}, "webhook-signature"),
        ({"headers": {"webhook-signature": "garbage-without-comma"}}, "webhook-signature"),
        ({"headers": {"webhook-signature": ""}}, "headers"),
        ({"headers": {"webhook-timestamp": "yesterday"}}, "webhook-timestamp"),
        ({"at": timedelta(seconds=-122)}, "webhook-timestamp"),
        ({"at": timedelta(seconds=122)}, "webhook-timestamp"),
    ],
    ids=["other-secret", "wrong-mac", "malformed", "missing", "not-a-time", "old", "future"],
)
def test_an_unsigned_or_stale_delivery_is_refused_401(
    step_functions: FakeStepFunctions, lambda_context, change: dict[str, Any], problem: str
):
    pending = authorize("order-1", "tok_async", lambda_context)
    wait("order-1", pending["authorizationId"], "token-1", lambda_context)
    if "at" in change:  # an offset from now (tolerance 120 s, conftest)
        change = {"at": datetime.now(UTC) + change["at"]}
    status, body = deliver(lambda_context, "order-1", pending["authorizationId"], **change)
    assert status == 401
    assert body["errors"][0]["field"] == problem
    # nothing was done: the authorisation is still PENDING, the wait unanswered
    assert step_functions.answers == []
    stored = PaymentsRepository(TABLE_ENV["PAYMENTS_TABLE"]).get_authorization("order-1")
    assert stored is not None and stored.status == "PENDING"


def test_a_timestamp_within_the_tolerance_is_accepted(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    pending = authorize("order-1", "tok_async", lambda_context)
    at = datetime.now(UTC) - timedelta(seconds=100)  # tolerance 120 s (conftest)
    assert deliver(lambda_context, "order-1", pending["authorizationId"], at=at)[0] == 200


def test_a_replayed_webhook_id_is_acknowledged_and_not_acted_on(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    pending = authorize("order-1", "tok_async", lambda_context)
    wait("order-1", pending["authorizationId"], "token-1", lambda_context)
    at = datetime.now(UTC)
    assert deliver(lambda_context, "order-1", pending["authorizationId"], at=at)[0] == 200
    # When the same delivery comes again (a provider's retry, or a replay within the window)
    status, body = deliver(lambda_context, "order-1", pending["authorizationId"], at=at)
    # Then it is acknowledged as a duplicate (the provider stops retrying) and nothing is redone
    assert (status, body) == (200, {"status": "duplicate"})
    assert len(step_functions.answers) == 1
    assert len(bus.delivered()) == 1


def test_an_unknown_authorisation_is_404_and_its_retry_is_handled(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    # When the provider confirms before the authorisation is stored (or names another one)
    status, body = deliver(lambda_context, "order-1", "auth-unknown")
    assert status == 404 and "auth-unknown" in body["message"]
    # Then its retry, once the authorisation exists, is handled, not refused as a duplicate
    pending = authorize("order-1", "tok_async", lambda_context)
    status, _ = deliver(lambda_context, "order-1", pending["authorizationId"])
    assert status == 200
    status, _ = deliver(lambda_context, "order-1", pending["authorizationId"].upper())
    assert status == 404  # another authorisation id of the same order


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"type": "payment.refunded", "timestamp": "2026-01-01T00:00:00Z", "data": {}}', "type"),
        ('{"type": "payment.authorized", "timestamp": "2026-01-01T00:00:00Z"}', "data"),
        (
            '{"type": "payment.authorized", "timestamp": "2026-01-01T00:00:00Z", '
            '"data": {"orderId": "bad id!", "authorizationId": "a"}}',
            "data.orderId",
        ),
    ],
)
def test_a_signed_body_that_is_not_a_confirmation_is_400_naming_the_field(
    payments_table: str, lambda_context, body: str, field: str
):
    status, answer = deliver(lambda_context, "order-1", "auth-1", body=body)
    assert status == 400
    assert field in {error["field"].removeprefix("body.") for error in answer["errors"]}


def test_a_body_that_is_not_a_json_object_is_400_before_anything(payments_table, lambda_context):
    status, answer = deliver(lambda_context, "order-1", "auth-1", body="[1, 2]")
    assert status == 400 and answer["errors"][0]["field"] == "body"


def test_a_late_confirmation_of_a_voided_payment_is_ignored(
    step_functions: FakeStepFunctions, bus: BusSpy, lambda_context
):
    # Given the saga's wait timed out and VoidPayment voided the PENDING authorisation
    pending = authorize("order-1", "tok_async", lambda_context)
    wait("order-1", pending["authorizationId"], "token-1", lambda_context)
    step_functions.gone.add("token-1")
    voided, changed = void("order-1", PaymentsRepository(TABLE_ENV["PAYMENTS_TABLE"]))
    assert changed and voided is not None and voided.status == "VOIDED"
    # When the provider's confirmation arrives after all
    status, body = deliver(lambda_context, "order-1", pending["authorizationId"])
    # Then it changes nothing
    assert (status, body) == (200, {"status": "ignored", "paymentStatus": "VOIDED"})
    assert step_functions.answers == [] and bus.delivered() == []


# --- the sandbox provider's request, the reason mapping ---


def test_the_providers_request_verifies_with_the_same_secret():
    confirmation = ProviderConfirmation("order-1", "auth-1", "authorized")
    now = datetime.now(UTC)
    body, headers = confirmation_request(confirmation, SIGNER, now)
    assert SIGNER.verify(body, headers)["data"] == {
        "orderId": "order-1",
        "authorizationId": "auth-1",
    }
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    # the same confirmation keeps its id across attempts; the timestamp is the attempt's
    later, again = confirmation_request(confirmation, SIGNER, now + timedelta(seconds=30))
    assert again["webhook-id"] == headers["webhook-id"] and later != body


def test_the_webhook_url_is_reached_through_the_emulator_offline():
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/payments"
    assert reachable_url(url, None) == url
    assert (
        reachable_url(url, "http://127.0.0.1:4566/")
        == "http://127.0.0.1:4566/_aws/execute-api/abc123/prod/webhooks/payments"
    )


def test_the_saga_timeout_of_the_payment_wait_cancels_with_payment_timeout():
    error = StepError.model_validate({"Error": PaymentTimeout.__name__, "Cause": "no answer"})
    assert cancellation_reason(None, error) == "PAYMENT_TIMEOUT" == PaymentTimeout.reason
    # the shipment's own timeout keeps its reason
    shipment = StepError.model_validate({"Error": "States.Timeout"})
    assert cancellation_reason(None, shipment) == "SHIPMENT_TIMEOUT"


def test_replay_records_expire_after_the_window(payments_table: str):
    from payments.dal.deliveries import WebhookDeliveries

    deliveries = WebhookDeliveries("payment-webhook-deliveries-test")
    assert deliveries.remember("msg-1", keep_seconds=-1)  # already past its expiry
    assert deliveries.remember("msg-1", keep_seconds=300)  # an expired record counts as absent
    assert not deliveries.remember("msg-1", keep_seconds=300)
    assert int(time.time()) > 0
