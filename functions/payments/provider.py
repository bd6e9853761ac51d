"""A simulated external payment provider, deterministic by payment token.

| token         | outcome                                                              |
|---------------|----------------------------------------------------------------------|
| `tok_ok`      | authorised                                                           |
| `tok_decline` | PaymentDeclined("CARD_DECLINED")                                     |
| `tok_flaky`   | ProviderUnavailable for the first N calls of an order, then authorised |
| anything else | PaymentDeclined("UNKNOWN_TOKEN")                                     |

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

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum

from payments.errors import PaymentDeclined, ProviderUnavailable

TOKEN_OK = "tok_ok"
TOKEN_DECLINE = "tok_decline"
TOKEN_FLAKY = "tok_flaky"
_AUTHORIZATION_NAMESPACE = uuid.UUID("6f1c2f4e-8a51-4b0e-9d4c-0f5b8e2c7a10")


class ProviderMode(StrEnum):
    """How the simulated provider behaves (SSM ``/orderflow/<stage>/payments/provider-mode``)."""

    UP = "up"
    DOWN = "down"  # every call fails transiently
    SLOW = "slow"  # every call takes longer than the caller waits


class SimulatedPaymentProvider:
    def __init__(
        self,
        count_attempt: Callable[[str], int],
        *,
        mode: Callable[[], ProviderMode] = lambda: ProviderMode.UP,
        latency_ms: int = 30,
        slow_latency_ms: int = 30_000,
        call_deadline_ms: int = 2_000,
        flaky_failures: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._count_attempt = count_attempt
        self._mode = mode
        self._latency_seconds = latency_ms / 1000
        self._slow_latency_seconds = slow_latency_ms / 1000
        self._deadline_seconds = call_deadline_ms / 1000
        self._flaky_failures = flaky_failures
        self._sleep = sleep

    def authorize(self, order_id: str, amount: Decimal, token: str) -> str:
        """Authorise `amount` for the order (the idempotency key); returns the authorisation id."""
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
        if token not in (TOKEN_OK, TOKEN_FLAKY):
            raise PaymentDeclined("UNKNOWN_TOKEN")
        return f"auth-{uuid.uuid5(_AUTHORIZATION_NAMESPACE, order_id)}"
