"""Payments' domain and I/O models."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from shared_kernel.models import CamelModel, StepInput


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    VOIDED = "VOIDED"


class Authorization(CamelModel):
    """The one payment record of an order (pk=AUTH#<orderId>)."""

    order_id: str
    status: AuthorizationStatus
    amount: Decimal
    authorization_id: str | None = None  # set when the provider authorised
    decline_reason: str | None = None  # set when it declined
    created_at: datetime
    updated_at: datetime


class AuthorizePaymentInput(StepInput):
    total: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    payment_token: str = Field(min_length=1, max_length=128)


class PaymentOutput(CamelModel):
    """What the authorize / void steps return to the state machine."""

    order_id: str
    status: AuthorizationStatus | None  # None: void found no payment
    authorization_id: str | None = None
    amount: Decimal | None = None
