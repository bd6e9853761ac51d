"""The sandbox provider's callback: sends each scheduled confirmation to the merchant's webhook
(``POST /webhooks/payments`` of the stage's API), signed per Standard Webhooks with the
provider's signing secret, as a real provider would.

Consumes the provider's confirmations queue (each message delayed
``PROVIDER_CONFIRMATION_DELAY_SECONDS``). A 2xx answer consumes the message; any other answer
fails the record: SQS delivers it again (a provider's retry, re-signed with a new timestamp,
the same ``webhook-id``), then it lands in the queue's DLQ.
"""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from payments.dal import get_webhook, get_webhook_url
from payments.dal.sandbox import post
from payments.models import ScheduledConfirmationRecord
from payments.provider import confirmation_request
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import logger, metrics

CALL_TIMEOUT_S = 10


class WebhookCallFailed(Exception):
    """The merchant's webhook did not answer 2xx: the provider tries again later."""


@batch_consumer(ScheduledConfirmationRecord)
def handler(record: ScheduledConfirmationRecord) -> str:
    confirmation = record.body.confirmation()
    body, headers = confirmation_request(confirmation, get_webhook(), datetime.now(UTC))
    status = post(get_webhook_url(), body, headers, CALL_TIMEOUT_S)
    logger.info(
        "payment confirmation sent to the merchant's webhook",
        extra={
            "order_id": confirmation.order_id,
            "outcome": confirmation.outcome,
            "webhook_id": headers["webhook-id"],
            "status_code": status,
        },
    )
    if not 200 <= status < 300:
        metrics.add_metric(name="ProviderWebhookRejected", unit=MetricUnit.Count, value=1)
        raise WebhookCallFailed(f"the webhook answered {status}")
    metrics.add_metric(name="ProviderWebhookDelivered", unit=MetricUnit.Count, value=1)
    return "delivered"
