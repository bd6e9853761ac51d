"""The order's life: PENDING -> CONFIRMED | CANCELLED, and nothing after that (no I/O)."""

from enum import Enum

from orders.errors import OrderStateConflict
from orders.models import OrderStatus, StepError

# How a caught state-machine error becomes a cancellation reason.
REASON_BY_ERROR = {
    "OutOfStock": "OUT_OF_STOCK",
    "PaymentDeclined": "PAYMENT_DECLINED",
    # payments' transient errors, once the saga's retries are spent (the provider is down,
    # too slow, or its circuit breaker is open)
    "ProviderUnavailable": "PAYMENT_UNAVAILABLE",
    "CircuitOpen": "PAYMENT_UNAVAILABLE",
    "ShipmentNotScheduled": "SHIPMENT_NOT_SCHEDULED",
    # the saga's name for AwaitPaymentConfirmation's States.Timeout (payments.errors)
    "PaymentTimeout": "PAYMENT_TIMEOUT",
    "States.Timeout": "SHIPMENT_TIMEOUT",
    "States.HeartbeatTimeout": "SHIPMENT_TIMEOUT",
}
DEFAULT_REASON = "SAGA_FAILED"
SAGA_NOT_STARTED = "SAGA_NOT_STARTED"
"""The reconciler's reason for an order whose saga never ran (its OrderPlaced never started an
execution, or a restart did not either) within its bound of restarts."""


class Transition(Enum):
    APPLY = "apply"  # PENDING -> target
    ALREADY_DONE = "already_done"  # already at target: a retried step, nothing to do


def decide(order_id: str, current: OrderStatus, target: OrderStatus) -> Transition:
    """Whether moving `current` to the terminal `target` is new work, a replay, or a conflict."""
    if current is target:
        return Transition.ALREADY_DONE
    if current is OrderStatus.PENDING:
        return Transition.APPLY
    raise OrderStateConflict(order_id, current.value, target.value)


def cancellation_reason(reason: str | None, error: StepError | None) -> str:
    if reason:
        return reason
    if error is None:
        return DEFAULT_REASON
    return REASON_BY_ERROR.get(error.error, DEFAULT_REASON)
