"""Saga step AwaitPaymentConfirmation (``lambda:invoke.waitForTaskToken``): the saga waits for
the provider's confirmation of a PENDING authorisation.

Input: {orderId, authorizationId, taskToken, correlationId, causationId?}. Keeps the task token
on the PENDING authorisation (a conditional write), where the payment webhook finds it. If the
confirmation arrived first (the race), it completes the task itself: SendTaskSuccess with the
authorisation (AUTHORIZED), or SendTaskFailure ``PaymentDeclined`` (DECLINED). Its return value
is ignored: the task's result is what is sent with the token. UnknownAuthorization (no such
authorisation) fails the task (Catch -> compensation).
"""

from payments.dal import get_repository, get_tasks
from payments.errors import UnknownAuthorization
from payments.logic.confirmation import await_confirmation
from payments.models import AwaitConfirmationInput, AwaitOutcome
from shared_kernel.handlers import saga_step
from shared_kernel.observability import logger


@saga_step(AwaitConfirmationInput, raises=(UnknownAuthorization,))
def handler(step: AwaitConfirmationInput) -> AwaitOutcome:
    outcome = await_confirmation(step, get_repository(), get_tasks())
    logger.info(
        "awaiting the payment's confirmation"
        if outcome == "waiting"
        else "the payment was confirmed before the saga waited: task answered",
        extra={"outcome": outcome, "authorization_id": step.authorization_id},
    )
    return AwaitOutcome(order_id=step.order_id, outcome=outcome)
