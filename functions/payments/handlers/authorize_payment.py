"""Saga step AuthorizePayment: authorise the order total with the payment provider.

Input: {orderId, total, paymentToken, correlationId, causationId?} (extra keys ignored).
Output: {orderId, status: "AUTHORIZED", authorizationId, amount}. Publishes PaymentAuthorized,
or PaymentDeclined before raising PaymentDeclined (Catch). ProviderUnavailable (the provider
is down or missed the call deadline), CircuitOpen (the breaker in front of it is open: no call
made) and PublishError are transient (Retry; once spent, CancelOrder's reason is
PAYMENT_UNAVAILABLE). Idempotent per order: a retry never charges twice.
"""

from aws_lambda_powertools.metrics import MetricUnit

from payments.dal import get_publisher, get_repository
from payments.errors import CircuitOpen, PaymentDeclined, ProviderUnavailable
from payments.logic.authorization import authorize_payment
from payments.models import AuthorizePaymentInput, PaymentOutput
from payments.resilience import get_guarded_provider
from shared_kernel.handlers import saga_step
from shared_kernel.observability import logger, metrics
from shared_kernel.publisher import PublishError


@saga_step(
    AuthorizePaymentInput,
    raises=(PaymentDeclined, ProviderUnavailable, CircuitOpen, PublishError),
)
def handler(step: AuthorizePaymentInput) -> PaymentOutput:
    try:
        authorization = authorize_payment(
            step, get_repository(), get_guarded_provider(), get_publisher()
        )
    except ProviderUnavailable as unavailable:
        metrics.add_metric(name="ProviderUnavailable", unit=MetricUnit.Count, value=1)
        logger.warning(
            "payment provider unavailable; the step will be retried",
            extra={"problem": str(unavailable)},
        )
        raise
    except CircuitOpen as open_circuit:  # counted (BreakerRejected) and logged by the breaker
        logger.info(
            "payment provider call skipped: circuit open; the step will be retried",
            extra={"retry_after_seconds": round(open_circuit.retry_after_seconds, 1)},
        )
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
