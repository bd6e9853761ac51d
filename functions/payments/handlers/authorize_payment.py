"""Saga step AuthorizePayment: authorise the order total with the payment provider.

Input: {orderId, total, correlationId, causationId?} (extra keys ignored): no payment token,
which is read from the orders store (the order's PAYMENT_TOKEN item; none: declined
NO_PAYMENT_TOKEN). Output: {orderId, status: "AUTHORIZED" | "PENDING", authorizationId, amount}.
Publishes PaymentAuthorized, or PaymentDeclined before raising PaymentDeclined (Catch). PENDING
(the asynchronous tokens): no event yet; the saga waits in AwaitPaymentConfirmation for the
provider's webhook. ProviderUnavailable (the provider
is down or missed the call deadline), CircuitOpen (the breaker in front of it is open: no call
made) and PublishError are transient (Retry; once spent, CancelOrder's reason is
PAYMENT_UNAVAILABLE). Idempotent per order: a retry never charges twice.
"""

from aws_lambda_powertools.metrics import MetricUnit

from payments.dal import get_order_tokens, get_publisher, get_repository
from payments.errors import CircuitOpen, PaymentDeclined, ProviderUnavailable
from payments.logic.authorization import authorize_payment
from payments.models import AuthorizationStatus, AuthorizePaymentInput, PaymentOutput
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
            step, get_repository(), get_guarded_provider(), get_publisher(), get_order_tokens()
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
    if authorization.status is AuthorizationStatus.PENDING:
        metrics.add_metric(name="PaymentsPending", unit=MetricUnit.Count, value=1)
        logger.info("payment pending: the provider confirms later")
    else:
        metrics.add_metric(name="PaymentsAuthorized", unit=MetricUnit.Count, value=1)
        logger.info("payment authorized", extra={"status": authorization.status})
    return PaymentOutput(
        order_id=step.order_id,
        status=authorization.status,
        authorization_id=authorization.authorization_id,
        amount=authorization.amount,
    )
