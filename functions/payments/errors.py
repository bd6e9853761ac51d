"""Payments' errors. Class names are matched by the state machine (Catch / Retry)."""

from shared_kernel.errors import BusinessError, TransientError


class PaymentDeclined(BusinessError):
    """The provider refused the payment; `reason` says why (CARD_DECLINED, UNKNOWN_TOKEN)."""

    reason = "PAYMENT_DECLINED"

    def __init__(self, decline_reason: str) -> None:
        super().__init__(f"payment declined: {decline_reason}", decline_reason=decline_reason)
        self.decline_reason = decline_reason


class ProviderUnavailable(TransientError):
    """The payment provider could not be reached or answered 5xx; retry later."""
