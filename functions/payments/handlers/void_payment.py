"""Saga compensation VoidPayment: void the order's authorisation, if there is one.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status?, authorizationId?,
amount?}: status VOIDED, DECLINED (nothing to void) or absent (never authorised). Idempotent;
publishes PaymentVoided whenever the payment ends VOIDED (again on a retry, with the same id:
consumers ignore it). The PaymentsVoided metric counts the voids this step made, not its
retries or no-ops.
"""

from aws_lambda_powertools.metrics import MetricUnit

from payments.dal import get_publisher, get_repository
from payments.logic.authorization import void_payment
from payments.models import PaymentOutput
from shared_kernel.handlers import saga_step
from shared_kernel.models import StepInput
from shared_kernel.observability import logger, metrics
from shared_kernel.publisher import PublishError


@saga_step(StepInput, raises=(PublishError,))
def handler(step: StepInput) -> PaymentOutput:
    authorization, voided = void_payment(step, get_repository(), get_publisher())
    if voided:
        metrics.add_metric(name="PaymentsVoided", unit=MetricUnit.Count, value=1)
    if authorization is None:
        logger.info("no payment to void")
        return PaymentOutput(order_id=step.order_id, status=None)
    logger.info("payment settled", extra={"status": authorization.status, "changed": voided})
    return PaymentOutput(
        order_id=step.order_id,
        status=authorization.status,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    )
