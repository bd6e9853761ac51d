"""Saga compensation VoidPayment: void the order's authorisation, if there is one.

Input: {orderId, correlationId, causationId?}. Output: {orderId, status?, authorizationId?,
amount?}: status VOIDED, DECLINED (nothing to void) or absent (never authorised). Idempotent;
publishes PaymentVoided whenever the payment ends VOIDED (again on a retry: consumers dedupe).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import events
from payments.dal import get_publisher, get_repository
from payments.logic.authorization import void
from payments.models import AuthorizationStatus, PaymentOutput
from shared_kernel.models import StepInput
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="payments")
tracer = Tracer(service="payments")
metrics = build_metrics("payments")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StepInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    metrics.add_metric(name="PaymentsVoided", unit=MetricUnit.Count, value=1)
    authorization = void(step.order_id, get_repository())
    if authorization is None:
        logger.info("no payment to void")
        return PaymentOutput(order_id=step.order_id, status=None).to_wire()
    if authorization.status is AuthorizationStatus.VOIDED:
        get_publisher().publish([events.payment_voided(step, authorization)])
    logger.info("payment settled", extra={"status": authorization.status})
    return PaymentOutput(
        order_id=step.order_id,
        status=authorization.status,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    ).to_wire()
