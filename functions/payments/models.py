"""Payments' domain and I/O models."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Field, Json

from shared_kernel.models import CamelModel, Money, OrderId, StepInput, Token


class AuthorizationStatus(StrEnum):
    PENDING = "PENDING"  # the provider accepted it and confirms later (its webhook)
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    VOIDED = "VOIDED"


class Authorization(CamelModel):
    """The one payment record of an order (pk=AUTH#<orderId>)."""

    order_id: str
    status: AuthorizationStatus
    amount: Money
    authorization_id: str | None = None  # set when the provider authorised (or accepted)
    decline_reason: str | None = None  # set when it declined
    created_at: datetime
    updated_at: datetime
    # The saga's ids, kept while PENDING: the webhook that confirms it publishes the outcome
    # event in the order's flow (the same event id the step would have published).
    correlation_id: str | None = None
    causation_id: str | None = None


class AuthorizePaymentInput(StepInput):
    """The saga state: no payment token (AuthorizePayment reads it from the orders store)."""

    total: Money = Field(gt=0)


class AwaitConfirmationInput(StepInput):
    """AwaitPaymentConfirmation's input: the PENDING authorisation and the task token."""

    authorization_id: Token
    task_token: str = Field(min_length=1, max_length=4096)


@dataclass(frozen=True)
class ProviderAuthorization:
    """What the provider answered: its authorisation id, and whether it confirms later."""

    authorization_id: str
    pending: bool = False


@dataclass(frozen=True)
class ProviderConfirmation:
    """What the provider will tell the merchant about a PENDING authorisation (its webhook)."""

    order_id: str
    authorization_id: str
    outcome: Literal["authorized", "declined"]
    reason: str | None = None


CONFIRMATION_TYPES = ("payment.authorized", "payment.declined")


class ConfirmationData(CamelModel):
    order_id: OrderId  # the merchant's reference (the idempotency key of the authorisation)
    authorization_id: Token
    reason: str | None = Field(default=None, min_length=1, max_length=64)


class PaymentConfirmation(CamelModel):
    """Body of POST /webhooks/payments (the Standard Webhooks payload shape)."""

    type: Literal["payment.authorized", "payment.declined"] = Field(
        description="`payment.authorized` or `payment.declined`"
    )
    timestamp: datetime
    data: ConfirmationData


class ConfirmationAnswer(CamelModel):
    """Answer of POST /webhooks/payments."""

    status: Literal["recorded", "duplicate", "already-settled", "ignored"] = Field(
        description="`recorded`: the confirmation completed the payment; `duplicate`: this "
        "`webhook-id` was received before (nothing done again); `already-settled`: the payment "
        "already had this outcome; `ignored`: the payment was settled otherwise (e.g. voided "
        "after its confirmation timed out)"
    )
    payment_status: AuthorizationStatus | None = None


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


class AwaitOutcome(CamelModel):
    """What AwaitPaymentConfirmation returns (its caller, a ``.waitForTaskToken`` task, ignores
    it: the task's result is the answer sent with the token)."""

    order_id: str
    outcome: str  # waiting | completed | gone


class ScheduledConfirmation(CamelModel):
    """A confirmation the sandbox provider scheduled (its queue's message body)."""

    order_id: OrderId
    authorization_id: Token
    outcome: Literal["authorized", "declined"]
    reason: str | None = Field(default=None, max_length=64)

    def confirmation(self) -> ProviderConfirmation:
        return ProviderConfirmation(self.order_id, self.authorization_id, self.outcome, self.reason)


class ScheduledConfirmationRecord(SqsRecordModel):
    body: Json[ScheduledConfirmation]
