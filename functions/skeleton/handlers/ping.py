"""EventBridge target: records every ``PingSent`` event in the table."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.observability import logger, metrics, tracer
from skeleton.dal import default_repository
from skeleton.logic import pings
from skeleton.models import PingSentEvent


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PingSentEvent)
def handler(event: PingSentEvent, context: LambdaContext) -> None:
    ping = pings.record_ping(event, default_repository())
    logger.info("ping recorded", event_id=ping.event_id)
    metrics.add_metric(name="PingRecorded", unit=MetricUnit.Count, value=1)
