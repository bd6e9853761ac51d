"""Events emitted by the payments service (source `orderflow.payments`).

| type              | when                                                   |
|-------------------|--------------------------------------------------------|
| PaymentAuthorized | the provider authorised the order's total (also replay) |
| PaymentDeclined   | the provider declined (card declined, unknown token)   |
| PaymentVoided     | a compensation voided the authorisation                |

Payments consumes no bus events: its steps are invoked by the order saga.
"""

from decimal import Decimal

from payments.models import Authorization
from shared_kernel.cloudevents import CloudEvent, new_event
from shared_kernel.models import CamelModel, StepInput

SOURCE = "orderflow.payments"
PAYMENT_AUTHORIZED = "PaymentAuthorized"
PAYMENT_DECLINED = "PaymentDeclined"
PAYMENT_VOIDED = "PaymentVoided"


class PaymentAuthorizedData(CamelModel):
    order_id: str
    authorization_id: str
    amount: Decimal


class PaymentDeclinedData(CamelModel):
    order_id: str
    reason: str


class PaymentVoidedData(CamelModel):
    order_id: str
    authorization_id: str
    amount: Decimal


def _event(step: StepInput, type: str, data: CamelModel) -> CloudEvent:
    return new_event(
        type=type,
        source=SOURCE,
        subject=step.order_id,
        data=data.to_wire(),
        correlation_id=step.correlation_id,
        causation_id=step.causation_id,
    )


def payment_authorized(step: StepInput, authorization: Authorization) -> CloudEvent:
    data = PaymentAuthorizedData(
        order_id=step.order_id,
        authorization_id=authorization.authorization_id or "",
        amount=authorization.amount,
    )
    return _event(step, PAYMENT_AUTHORIZED, data)


def payment_declined(step: StepInput, reason: str) -> CloudEvent:
    return _event(
        step, PAYMENT_DECLINED, PaymentDeclinedData(order_id=step.order_id, reason=reason)
    )


def payment_voided(step: StepInput, authorization: Authorization) -> CloudEvent:
    data = PaymentVoidedData(
        order_id=step.order_id,
        authorization_id=authorization.authorization_id or "",
        amount=authorization.amount,
    )
    return _event(step, PAYMENT_VOIDED, data)
