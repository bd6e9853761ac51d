"""A simulated external payment provider, deterministic by payment token.

| token         | outcome                                                              |
|---------------|----------------------------------------------------------------------|
| `tok_ok`      | authorised                                                           |
| `tok_decline` | PaymentDeclined("CARD_DECLINED")                                     |
| `tok_flaky`   | ProviderUnavailable for the first N calls of an order, then authorised |
| `tok_async`   | PENDING; confirmed authorised later (the provider's webhook)         |
| `tok_async_decline` | PENDING; confirmed declined later (CARD_DECLINED)              |
| `tok_async_silent`  | PENDING; never confirmed (the saga's wait times out: PAYMENT_TIMEOUT) |
| anything else | PaymentDeclined("UNKNOWN_TOKEN")                                     |

The asynchronous tokens: the provider answers at once with its authorisation id and a PENDING
status, and schedules its confirmation (``schedule_confirmation``: in the deployed app a delayed
SQS message, consumed by the sandbox provider's callback function, which POSTs the signed
confirmation to ``POST /webhooks/payments``, as a real provider calls a merchant's webhook).

Every call presents the merchant's API key (``api_key``, the client's copy of the credential in
Secrets Manager); the provider checks it against the key it issued (``issued_key``) and refuses
a call without the right one (``ProviderAuthenticationFailed``: a misconfiguration, not a
transient fault, so neither retried nor counted by the breaker).

Whatever the token, the provider's operating mode (``ProviderMode``, read at each call) comes
first: ``down`` fails every call with ProviderUnavailable; ``slow`` answers after
``slow_latency_ms``, longer than the caller waits. The caller's client has a call deadline
(``call_deadline_ms``, well below the step's timeout): a call that has not answered by then is
abandoned there and fails with ProviderUnavailable, as a socket timeout would, so a slow
provider costs each call the deadline, not the function's timeout, and the breaker sees it.

Calls are counted per order in the payments table (`count_attempt`), not in memory, so
`tok_flaky` behaves the same whichever Lambda execution environment serves each retry. The
authorisation id is derived from the order id, as a real provider keyed by an idempotency key
would return the same authorisation for the same key.
"""

import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from standardwebhooks.webhooks import Webhook

from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.models import ProviderAuthorization, ProviderConfirmation

TOKEN_OK = "tok_ok"
TOKEN_DECLINE = "tok_decline"
TOKEN_FLAKY = "tok_flaky"
TOKEN_ASYNC = "tok_async"
TOKEN_ASYNC_DECLINE = "tok_async_decline"
TOKEN_ASYNC_SILENT = "tok_async_silent"
ASYNC_TOKENS = (TOKEN_ASYNC, TOKEN_ASYNC_DECLINE, TOKEN_ASYNC_SILENT)
_AUTHORIZATION_NAMESPACE = uuid.UUID("6f1c2f4e-8a51-4b0e-9d4c-0f5b8e2c7a10")


class ProviderMode(StrEnum):
    """How the simulated provider behaves (SSM ``/orderflow/<stage>/payments/provider-mode``)."""

    UP = "up"
    DOWN = "down"  # every call fails transiently
    SLOW = "slow"  # every call takes longer than the caller waits


class ProviderAuthenticationFailed(Exception):
    """The provider refused the merchant's API key (its 401): the credentials in Secrets
    Manager are wrong or missing. Not a domain error: the step fails and the saga compensates."""


def _never_scheduled(confirmation: ProviderConfirmation) -> None:
    raise RuntimeError("this provider was built without a way to send confirmations")


class SimulatedPaymentProvider:
    def __init__(
        self,
        count_attempt: Callable[[str], int],
        *,
        api_key: Callable[[], str] = lambda: "",
        issued_key: Callable[[], str] = lambda: "",
        schedule_confirmation: Callable[[ProviderConfirmation], None] = _never_scheduled,
        mode: Callable[[], ProviderMode] = lambda: ProviderMode.UP,
        latency_ms: int = 30,
        slow_latency_ms: int = 30_000,
        call_deadline_ms: int = 2_000,
        flaky_failures: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._count_attempt = count_attempt
        self._api_key = api_key
        self._issued_key = issued_key
        self._schedule_confirmation = schedule_confirmation
        self._mode = mode
        self._latency_seconds = latency_ms / 1000
        self._slow_latency_seconds = slow_latency_ms / 1000
        self._deadline_seconds = call_deadline_ms / 1000
        self._flaky_failures = flaky_failures
        self._sleep = sleep

    def authorize(self, order_id: str, amount: Decimal, token: str) -> ProviderAuthorization:
        """Authorise `amount` for the order (the idempotency key): the authorisation id, PENDING
        for the asynchronous tokens (their confirmation is scheduled)."""
        if not hmac.compare_digest(self._api_key().encode(), self._issued_key().encode()):
            raise ProviderAuthenticationFailed("the payment provider refused the API key")
        mode = self._mode()
        attempt = self._count_attempt(order_id)
        latency = self._slow_latency_seconds if mode is ProviderMode.SLOW else self._latency_seconds
        if latency > self._deadline_seconds:  # abandoned at the deadline
            self._sleep(self._deadline_seconds)
            raise ProviderUnavailable(
                f"provider did not answer within {self._deadline_seconds:g}s "
                f"(attempt {attempt} of order {order_id})"
            )
        if latency:
            self._sleep(latency)
        if mode is ProviderMode.DOWN:
            raise ProviderUnavailable(f"provider down (attempt {attempt} of order {order_id})")
        if token == TOKEN_FLAKY and attempt <= self._flaky_failures:
            raise ProviderUnavailable(
                f"provider unavailable (attempt {attempt} of order {order_id})"
            )
        if token == TOKEN_DECLINE:
            raise PaymentDeclined("CARD_DECLINED")
        if token not in (TOKEN_OK, TOKEN_FLAKY, *ASYNC_TOKENS):
            raise PaymentDeclined("UNKNOWN_TOKEN")
        authorization_id = f"auth-{uuid.uuid5(_AUTHORIZATION_NAMESPACE, order_id)}"
        if token not in ASYNC_TOKENS:
            return ProviderAuthorization(authorization_id)
        if token == TOKEN_ASYNC:
            self._schedule_confirmation(
                ProviderConfirmation(order_id, authorization_id, "authorized")
            )
        elif token == TOKEN_ASYNC_DECLINE:
            self._schedule_confirmation(
                ProviderConfirmation(order_id, authorization_id, "declined", "CARD_DECLINED")
            )
        return ProviderAuthorization(authorization_id, pending=True)


def confirmation_request(
    confirmation: ProviderConfirmation, webhook: Webhook, now: datetime
) -> tuple[str, dict[str, str]]:
    """The provider's webhook call for ``confirmation``: the JSON body and the Standard Webhooks
    headers, signed with the provider's secret. The ``webhook-id`` is the same for every attempt
    at the same confirmation (the receiver refuses a second one); the timestamp is the
    attempt's."""
    data = {"orderId": confirmation.order_id, "authorizationId": confirmation.authorization_id}
    if confirmation.reason is not None:
        data["reason"] = confirmation.reason
    body = json.dumps(
        {"type": f"payment.{confirmation.outcome}", "timestamp": now.isoformat(), "data": data}
    )
    webhook_id = f"msg_{confirmation.authorization_id}_{confirmation.outcome}"
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(webhook_id, now, body),
    }
    return body, headers
