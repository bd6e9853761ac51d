"""Saga step AuthorizePayment: authorise the order total with the payment provider.

Input: {orderId, total, paymentToken, correlationId, causationId?} (extra keys ignored).
Output: {orderId, status: "AUTHORIZED", authorizationId, amount}. Publishes PaymentAuthorized,
or PaymentDeclined before raising PaymentDeclined (Catch). ProviderUnavailable and
PublishError are transient (Retry). Idempotent per order: a retry never charges twice.
"""

from aws_lambda_powertools.metrics import MetricUnit

from payments.dal import get_provider, get_publisher, get_repository
from payments.errors import PaymentDeclined, ProviderUnavailable
from payments.logic.authorization import authorize_payment
from payments.models import AuthorizePaymentInput, PaymentOutput
from shared_kernel.handlers import saga_step
from shared_kernel.observability import logger, metrics
from shared_kernel.publisher import PublishError


@saga_step(AuthorizePaymentInput, raises=(PaymentDeclined, ProviderUnavailable, PublishError))
def handler(step: AuthorizePaymentInput) -> PaymentOutput:
    try:
        authorization = authorize_payment(step, get_repository(), get_provider(), get_publisher())
    except ProviderUnavailable:
        metrics.add_metric(name="ProviderUnavailable", unit=MetricUnit.Count, value=1)
        logger.warning("payment provider unavailable; the step will be retried")
        raise
    except PaymentDeclined as declined:
        metrics.add_metric(name="PaymentsDeclined", unit=MetricUnit.Count, value=1)
        logger.info("payment declined", extra={"decline_reason": declined.decline_reason})
        raise
    metrics.add_metric(name="PaymentsAuthorized", unit=MetricUnit.Count, value=1)
    logger.info("payment authorized", extra={"status": authorization.status})
    return PaymentOutput(
        order_id=step.order_id,
        status=authorization.status,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    )
