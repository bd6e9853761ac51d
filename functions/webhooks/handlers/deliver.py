"""Deliverer: the delivery queue's messages, one attempt each, a batch's attempts at once.

Trigger: the delivery queue (ReportBatchItemFailures, DLQ). The attempts of one batch run
concurrently (Powertools' ``AsyncBatchProcessor``; each attempt's HTTP in a thread of its
own, bounded by the attempt timeout), so a slow or hanging subscriber costs the others
nothing: the batch takes as long as its slowest attempt, at most the timeout. This is why
the deliverer is not a ``shared_kernel.handlers.batch_consumer``, which handles records one
after the other.

A failed attempt is not a failed record: the next attempt is sent to the queue again with
``DelaySeconds`` (the backoff) and this record succeeds, so a failing subscriber's retries
never sit in a batch, and never count towards the queue's redrive policy. A record fails
only when the bookkeeping does (DynamoDB, SQS): it is received again, and after the redrive
policy's receives it is in the DLQ.
"""

import asyncio
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import SQSRecord
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from shared_kernel.observability import logger, metrics, tracer
from webhooks.dal import get_deliveries, get_queues, get_secrets, get_subscriptions, get_transport
from webhooks.logic.delivery import DeliveryPolicy, Prepared, attempt, deferred, prepare, settle
from webhooks.models import DeliveryMessage
from webhooks.settings import get_settings

MAX_BATCH = 10
jitter: Callable[[], float] = random.random
"""Where the backoff's full jitter comes from (a test makes it 0: no wait)."""


class DeliveryRecord(SqsRecordModel):
    body: Json[DeliveryMessage]


class _LoggingAsyncBatchProcessor(AsyncBatchProcessor):
    def failure_handler(self, record: Any, exception: Any) -> Any:
        logger.error("delivery record failed: it will be received again", exc_info=exception)
        return super().failure_handler(record, exception)


processor = _LoggingAsyncBatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False
)


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_BATCH, thread_name_prefix="deliver")


@cache
def policy() -> DeliveryPolicy:
    settings = get_settings()
    return DeliveryPolicy(
        allow_loopback=settings.allow_loopback,
        attempt_timeout_seconds=settings.attempt_timeout_seconds,
        schedule=settings.retry_schedule,
        disable_after_failures=settings.disable_after_failures,
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def record_handler(record: SQSRecord) -> str:
    message = DeliveryRecord.model_validate(record.raw_event).body
    queues = get_queues()
    again = deferred(message, _now())
    if again is not None:  # a backoff longer than SQS's 15 minutes: wait again
        queues.send(*again)
        return "deferred"
    prepared = prepare(message, get_subscriptions(), get_secrets(), get_deliveries(), _now())
    if not isinstance(prepared, Prepared):
        logger.info(
            "message not attempted", extra={"why": prepared, "message_id": message.message_id}
        )
        return prepared
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(
        _threads(), attempt, prepared, get_transport(), policy(), _now
    )
    settled = settle(
        prepared,
        result,
        store=get_subscriptions(),
        log=get_deliveries(),
        queue=queues,
        policy=policy(),
        random=jitter,
        now=_now(),
    )
    _count(settled.outcome, settled.disabled)
    logger.info(
        "delivery attempted",
        extra={
            "message_id": message.message_id,
            "webhook_id": message.subscription_id,
            "attempt": message.attempt,
            "status_code": result.status_code,
            "error": result.error,
            "duration_ms": result.duration_ms,
            "outcome": settled.outcome,
        },
    )
    return settled.outcome


def _count(outcome: str, disabled: bool) -> None:
    name = {
        "delivered": "WebhookDeliveriesSucceeded",
        "retry-scheduled": "WebhookDeliveriesFailed",
        "dead-lettered": "WebhookDeliveriesFailed",
    }[outcome]
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if outcome == "dead-lettered":
        metrics.add_metric(name="WebhookDeliveriesDeadLettered", unit=MetricUnit.Count, value=1)
    if disabled:
        metrics.add_metric(name="WebhookSubscriptionsDisabled", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
