"""Payments' domain and I/O models."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared_kernel.models import CamelModel, Money, StepInput, Token


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    VOIDED = "VOIDED"


class Authorization(CamelModel):
    """The one payment record of an order (pk=AUTH#<orderId>)."""

    order_id: str
    status: AuthorizationStatus
    amount: Money
    authorization_id: str | None = None  # set when the provider authorised
    decline_reason: str | None = None  # set when it declined
    created_at: datetime
    updated_at: datetime


class AuthorizePaymentInput(StepInput):
    total: Money = Field(gt=0)
    payment_token: Token


class PaymentOutput(CamelModel):
    """What the authorize / void steps return to the state machine."""

    order_id: str
    status: AuthorizationStatus | None  # None: void found no payment
    authorization_id: str | None = None
    amount: Money | None = None


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerRecord:
    """The shared state of one dependency's breaker; times are epoch seconds."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # counted in the current window (CLOSED), or that opened it
    window_started: float = 0.0
    opened_at: float = 0.0
    probe_until: float = 0.0  # the HALF_OPEN probe's lease
    version: int = 0  # 0: never written; each write adds 1 (the compare-and-set)
    opens: int = 0  # times it opened (lifetime)
    probes: int = 0  # probes admitted (lifetime)
