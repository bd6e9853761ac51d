"""The payments saga steps: outputs, error names, events and retries."""

import pytest

from payments.dal.repository import PaymentsRepository
from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.handlers import authorize_payment, void_payment
from shared_kernel.cloudevents import from_eventbridge
from shared_kernel.errors import MalformedEventError
from shared_kernel.publisher import PublishError
from tests.unit.domain_common.fixtures import BusSpy, fail_put_events
from tests.unit.payments.conftest import store_token


def step(token: str = "tok_ok", order_id: str = "order-1", **extra) -> dict:
    """The saga state AuthorizePayment is given (no token), the token kept in the orders
    store."""
    store_token(order_id, token)
    return {
        "orderId": order_id,
        "total": "37.49",
        "correlationId": "corr-1",
        "causationId": "placed-1",
        "items": [{"sku": "SKU-MUG-001", "quantity": 1}],
        **extra,
    }


def test_authorize_returns_authorization_and_publishes_it(
    repository: PaymentsRepository, bus: BusSpy, lambda_context
):
    # When a tok_ok order is authorised
    output = authorize_payment.handler(step(), lambda_context)
    # Then the step returns the authorisation and PaymentAuthorized carries the amount
    assert output["status"] == "AUTHORIZED"
    assert output["amount"] == "37.49"
    assert output["authorizationId"].startswith("auth-")
    [event] = [from_eventbridge(delivered) for delivered in bus.delivered()]
    assert (event.type, event.source, event.subject) == (
        "PaymentAuthorized",
        "orderflow.payments",
        "order-1",
    )
    assert (event.correlationid, event.causationid) == ("corr-1", "placed-1")
    assert event.data == {
        "orderId": "order-1",
        "authorizationId": output["authorizationId"],
        "amount": "37.49",
    }


def test_declined_payment_publishes_payment_declined_and_raises_it(
    repository: PaymentsRepository, bus: BusSpy, lambda_context
):
    with pytest.raises(PaymentDeclined) as raised:
        authorize_payment.handler(step("tok_decline"), lambda_context)
    assert type(raised.value).__name__ == "PaymentDeclined"
    [event] = [from_eventbridge(delivered) for delivered in bus.delivered()]
    assert (event.type, event.data) == (
        "PaymentDeclined",
        {"orderId": "order-1", "reason": "CARD_DECLINED"},
    )


def test_flaky_token_fails_twice_then_succeeds_through_the_handler(
    repository: PaymentsRepository, bus: BusSpy, lambda_context
):
    # Given the default of 2 provider failures per flaky order
    # When Step Functions retries the step after each ProviderUnavailable
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            authorize_payment.handler(step("tok_flaky"), lambda_context)
    output = authorize_payment.handler(step("tok_flaky"), lambda_context)
    # Then the third attempt authorises, and only the success was published
    assert output["status"] == "AUTHORIZED"
    assert bus.detail_types() == ["PaymentAuthorized"]


def test_flaky_failure_count_comes_from_settings(
    repository: PaymentsRepository, bus: BusSpy, lambda_context, monkeypatch
):
    monkeypatch.setenv("PROVIDER_FLAKY_FAILURES", "0")
    assert authorize_payment.handler(step("tok_flaky"), lambda_context)["status"] == "AUTHORIZED"


def test_retry_after_publish_failure_does_not_authorize_twice(
    repository: PaymentsRepository, bus: BusSpy, lambda_context, monkeypatch
):
    # Given the authorisation succeeded but EventBridge refused the event
    with monkeypatch.context() as patch:
        fail_put_events(patch)
        with pytest.raises(PublishError):
            authorize_payment.handler(step(), lambda_context)
    # When the step is retried
    output = authorize_payment.handler(step(), lambda_context)
    # Then the provider saw one call, and the event got out on the retry
    assert repository.count_provider_attempt("order-1") == 2  # 1 call + this probe
    assert output["status"] == "AUTHORIZED"
    assert bus.detail_types() == ["PaymentAuthorized"]


def test_invalid_step_input_names_the_field(repository: PaymentsRepository, lambda_context):
    with pytest.raises(MalformedEventError) as raised:
        authorize_payment.handler(step(total="-1"), lambda_context)
    assert raised.value.field == "total"


def test_void_compensates_once_and_publishes_payment_voided(
    repository: PaymentsRepository, bus: BusSpy, lambda_context
):
    authorized = authorize_payment.handler(step(), lambda_context)
    first = void_payment.handler(step(), lambda_context)
    second = void_payment.handler(step(), lambda_context)
    assert first == second == {**authorized, "status": "VOIDED"}
    stored = repository.get_authorization("order-1")
    assert stored is not None
    assert stored.status == "VOIDED"
    assert bus.detail_types() == ["PaymentAuthorized", "PaymentVoided", "PaymentVoided"]


def test_void_without_payment_is_a_quiet_no_op(
    repository: PaymentsRepository, bus: BusSpy, lambda_context
):
    assert void_payment.handler(step(order_id="none"), lambda_context) == {"orderId": "none"}
    assert bus.delivered() == []
