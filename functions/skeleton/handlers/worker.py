"""SQS consumer of the work queue; reports failed messages one by one (partial batch response)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.observability import logger, metrics, tracer
from skeleton.dal import default_repository
from skeleton.logic import jobs
from skeleton.models import JobRecord

# Parses each record into a JobRecord; a record that fails to parse counts as failed.
processor = BatchProcessor(event_type=EventType.SQS, model=JobRecord)


@tracer.capture_method
def record_handler(record: JobRecord) -> None:
    try:
        jobs.process_job(record.body, default_repository())
    except jobs.JobFailedError:
        logger.warning("job failed", job_id=record.body.id, message_id=record.messageId)
        raise
    metrics.add_metric(name="JobProcessed", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
