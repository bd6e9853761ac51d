"""Events emitted by the payments service (source `orderflow.payments`).

| type              | when                                                   |
|-------------------|--------------------------------------------------------|
| PaymentAuthorized | the provider authorised the order's total (also replay) |
| PaymentDeclined   | the provider declined (card declined, unknown token)   |
| PaymentVoided     | a compensation voided the authorisation                |

Payments consumes no bus events: its steps are invoked by the order saga.
"""

from payments.models import Authorization
from shared_kernel.cloudevents import CloudEvent, step_event
from shared_kernel.models import CamelModel, Money, StepInput

SOURCE = "orderflow.payments"
PAYMENT_AUTHORIZED = "PaymentAuthorized"
PAYMENT_DECLINED = "PaymentDeclined"
PAYMENT_VOIDED = "PaymentVoided"


class PaymentAuthorizedData(CamelModel):
    order_id: str
    authorization_id: str
    amount: Money


class PaymentDeclinedData(CamelModel):
    order_id: str
    reason: str


class PaymentVoidedData(CamelModel):
    order_id: str
    authorization_id: str
    amount: Money


def payment_authorized(step: StepInput, authorization: Authorization) -> CloudEvent:
    data = PaymentAuthorizedData(
        order_id=step.order_id,
        authorization_id=authorization.authorization_id or "",
        amount=authorization.amount,
    )
    return step_event(step, SOURCE, PAYMENT_AUTHORIZED, data)


def payment_declined(step: StepInput, reason: str) -> CloudEvent:
    return step_event(
        step, SOURCE, PAYMENT_DECLINED, PaymentDeclinedData(order_id=step.order_id, reason=reason)
    )


def payment_voided(step: StepInput, authorization: Authorization) -> CloudEvent:
    data = PaymentVoidedData(
        order_id=step.order_id,
        authorization_id=authorization.authorization_id or "",
        amount=authorization.amount,
    )
    return step_event(step, SOURCE, PAYMENT_VOIDED, data)
