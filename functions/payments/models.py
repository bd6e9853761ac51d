"""Payments' domain and I/O models."""

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
