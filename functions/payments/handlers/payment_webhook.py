"""POST /webhooks/payments: the payment provider confirms a PENDING authorisation.

No API key (the method does not require one): the Standard Webhooks signature is the
authentication. In order, each failure answered without touching anything:

1. 400 for a body that is not a UTF-8 JSON object (the edge), 413 over 16 KiB;
2. 401 when ``webhook-id``, ``webhook-timestamp`` or ``webhook-signature`` is missing, the
   timestamp is further than ``PAYMENT_WEBHOOK_TOLERANCE_SECONDS`` from now (old or in the
   future), or no signature matches the raw body under the provider's secret (Secrets Manager);
3. 400 naming the field when the signed body is not a confirmation;
4. 200 ``duplicate`` when this ``webhook-id`` was received before (a provider's retry after a
   lost answer, or a replay): nothing is done again, and the provider stops retrying;
5. 404 when the order has no authorisation of that id;
6. 200 ``recorded`` (the payment is settled, its event published and the saga's wait answered),
   ``already-settled`` or ``ignored`` (settled otherwise: voided after the wait timed out).

An error of ours (DynamoDB, Step Functions) forgets the ``webhook-id`` and answers 500: the
provider's retry is then handled, not refused as a duplicate. The per-key rate limiter is off
for this route (there is no key; see docs/webhooks.md).
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from edge.http import api_resolver, error_response, invalid_request, json_content
from edge.middleware import api_handler
from edge.models import ErrorBody, FieldError
from payments.dal import get_deliveries, get_publisher, get_repository, get_tasks, get_webhook
from payments.errors import UnknownAuthorization
from payments.logic.confirmation import confirm_payment
from payments.logic.webhook import WebhookRejected, verify_delivery
from payments.models import ConfirmationAnswer, PaymentConfirmation
from payments.settings import get_settings
from shared_kernel.observability import bind_correlation, logger, metrics

router = Router()

MAX_BODY_BYTES = 16 * 1024
REPLAY_MARGIN_SECONDS = 60
"""A webhook-id is kept for twice the tolerance (its timestamp may be that far in the future
or the past) plus this margin for clock differences between the function's hosts."""


@router.post(
    "/webhooks/payments",
    summary="Payment provider's confirmation (incoming webhook)",
    description=(
        "Called by the payment provider, not by clients: confirms (`payment.authorized`) or "
        "declines (`payment.declined`) a PENDING authorisation. Body: `{type, timestamp, data: "
        "{orderId, authorizationId, reason?}}`. Authenticated by its Standard Webhooks "
        "signature (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers, HMAC-SHA256 "
        "with the provider's secret), not by an API key."
    ),
    tags=["webhooks"],
    security=[],
    responses={
        200: {
            "description": "Received: recorded, a duplicate, already settled, or ignored",
            "content": json_content(ConfirmationAnswer),
        },
        400: {
            "description": "The signed body is not a confirmation; `errors` names each field",
            "content": json_content(ErrorBody),
        },
        401: {
            "description": "Missing or wrong signature, or a timestamp outside the tolerance",
            "content": json_content(ErrorBody),
        },
        404: {"description": "No such authorisation", "content": json_content(ErrorBody)},
        413: {"description": "Body larger than 16 KiB", "content": json_content(ErrorBody)},
    },
)
def payment_webhook() -> Response[dict[str, Any]]:
    event = router.current_event
    body = event.decoded_body or ""
    settings = get_settings()
    tolerance = settings.payment_webhook_tolerance_seconds
    try:
        webhook_id = verify_delivery(
            body,
            dict(event.headers or {}),
            get_webhook(),
            now=datetime.now(UTC),
            tolerance_seconds=tolerance,
        )
    except WebhookRejected as rejected:
        metrics.add_metric(name="PaymentWebhookRejected", unit=MetricUnit.Count, value=1)
        logger.warning("payment webhook refused", extra={"problem": str(rejected)})
        field, _, problem = str(rejected).partition(": ")
        return error_response(
            HTTPStatus.UNAUTHORIZED,
            "not a delivery signed by the payment provider",
            [FieldError(field=field if problem else "headers", problem=problem or field)],
        )
    try:
        confirmation = PaymentConfirmation.model_validate_json(body)
    except ValidationError as invalid:
        return invalid_request(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        )
    bind_correlation(webhook_id, confirmation.data.order_id)
    deliveries = get_deliveries()
    if not deliveries.remember(webhook_id, 2 * tolerance + REPLAY_MARGIN_SECONDS):
        metrics.add_metric(name="PaymentWebhookDuplicate", unit=MetricUnit.Count, value=1)
        logger.info("payment webhook: duplicate webhook-id, nothing done again")
        return _answer(ConfirmationAnswer(status="duplicate"))
    try:
        outcome, authorization = confirm_payment(
            confirmation, get_repository(), get_tasks(), get_publisher()
        )
    except UnknownAuthorization as unknown:
        deliveries.forget(webhook_id)
        return error_response(HTTPStatus.NOT_FOUND, str(unknown))
    except Exception:
        deliveries.forget(webhook_id)  # ours failed: the provider's retry must be handled
        raise
    metrics.add_metric(name="PaymentWebhookReceived", unit=MetricUnit.Count, value=1)
    logger.info(
        "payment confirmation received",
        extra={"outcome": outcome, "status": authorization.status, "type": confirmation.type},
    )
    return _answer(ConfirmationAnswer(status=outcome, payment_status=authorization.status))


def _answer(answer: ConfirmationAnswer) -> Response[dict[str, Any]]:
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=answer.to_wire(),
    )


app = api_resolver(router)
handler = api_handler(app, max_body_bytes=MAX_BODY_BYTES, object_body=True)
