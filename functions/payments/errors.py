"""Payments' errors. Class names are matched by the state machine (Catch / Retry)."""

from shared_kernel.errors import BusinessError, TransientError


class PaymentDeclined(BusinessError):
    """The provider refused the payment; `reason` says why (CARD_DECLINED, UNKNOWN_TOKEN)."""

    reason = "PAYMENT_DECLINED"

    def __init__(self, decline_reason: str) -> None:
        super().__init__(f"payment declined: {decline_reason}", decline_reason=decline_reason)
        self.decline_reason = decline_reason


class ProviderUnavailable(TransientError):
    """The payment provider could not be reached, answered 5xx, or did not answer within the
    client's call deadline; retry later."""


class CircuitOpen(TransientError):
    """The circuit breaker in front of a dependency is open: the call failed fast, without
    reaching it. Transient: the saga retries with backoff, and cancels with reason
    PAYMENT_UNAVAILABLE when its retries are spent."""

    def __init__(self, dependency: str, retry_after_seconds: float) -> None:
        super().__init__(
            f"circuit open for {dependency}: failing fast (retry in {retry_after_seconds:.1f}s)"
        )
        self.dependency = dependency
        self.retry_after_seconds = retry_after_seconds


class PaymentTimeout(BusinessError):
    """No confirmation of a PENDING authorisation arrived within the saga's wait
    (``payment_confirmation_seconds``). Raised by no function: the state machine names its own
    ``States.Timeout`` of AwaitPaymentConfirmation so, and CancelOrder's reason is
    PAYMENT_TIMEOUT."""

    reason = "PAYMENT_TIMEOUT"


class UnknownAuthorization(BusinessError):
    """A confirmation names an order with no PENDING-or-settled authorisation of that id."""

    def __init__(self, order_id: str, authorization_id: str) -> None:
        super().__init__(
            f"no authorization {authorization_id} for order {order_id}",
            order_id=order_id,
            authorization_id=authorization_id,
        )
