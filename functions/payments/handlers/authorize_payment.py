"""Saga step AuthorizePayment: authorise the order total with the payment provider.

Input: {orderId, total, paymentToken, correlationId, causationId?} (extra keys ignored).
Output: {orderId, status: "AUTHORIZED", authorizationId, amount}. Publishes PaymentAuthorized,
or PaymentDeclined before raising PaymentDeclined (Catch). ProviderUnavailable and
PublishError are transient (Retry). Idempotent per order: a retry never charges twice.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import events
from payments.dal import get_provider, get_publisher, get_repository
from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.logic.authorization import authorize
from payments.models import AuthorizePaymentInput, PaymentOutput
from shared_kernel.observability import bind_correlation, build_metrics

logger = Logger(service="payments")
tracer = Tracer(service="payments")
metrics = build_metrics("payments")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = AuthorizePaymentInput.model_validate(event)
    bind_correlation(logger, step.correlation_id, step.order_id)
    try:
        authorization = authorize(
            step.order_id, step.total, step.payment_token, get_repository(), get_provider()
        )
    except ProviderUnavailable:
        metrics.add_metric(name="ProviderUnavailable", unit=MetricUnit.Count, value=1)
        logger.warning("payment provider unavailable; the step will be retried")
        raise
    except PaymentDeclined as declined:
        metrics.add_metric(name="PaymentsDeclined", unit=MetricUnit.Count, value=1)
        logger.info("payment declined", extra={"decline_reason": declined.decline_reason})
        get_publisher().publish([events.payment_declined(step, declined.decline_reason)])
        raise
    get_publisher().publish([events.payment_authorized(step, authorization)])
    metrics.add_metric(name="PaymentsAuthorized", unit=MetricUnit.Count, value=1)
    logger.info("payment authorized", extra={"status": authorization.status})
    return PaymentOutput(
        order_id=step.order_id,
        status=authorization.status,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    ).to_wire()
