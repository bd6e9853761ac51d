"""Read-model projector: every orderflow CloudEvent from the bus into the order's history and
projected status.

Trigger: an EventBridge rule on EVENT_BUS_NAME matching `{"source": [{"prefix": "orderflow."}]}`
(asynchronous invocation; configure retries and an on-failure destination / DLQ). Duplicates are
ignored (conditional put of the history item); the view update is repeated on every delivery,
which is harmless because it only sets values. A malformed event raises MalformedEventError.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dal import get_repository
from orders.logic.projection import history_time, public_data, view_change
from shared_kernel.cloudevents import from_eventbridge
from shared_kernel.observability import bind_event, build_metrics

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = build_metrics("orders")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cloud_event = from_eventbridge(event)
    bind_event(logger, cloud_event)
    change = view_change(cloud_event)  # validates the data of status-changing events
    repository = get_repository()
    entry = {
        "id": cloud_event.id,
        "type": cloud_event.type,
        "source": cloud_event.source,
        "time": history_time(cloud_event),
        "data": public_data(cloud_event.data),
    }
    appended = repository.append_history(cloud_event, entry)
    repository.apply_view_change(cloud_event.subject, change)
    if appended:
        metrics.add_metric(name="EventsProjected", unit=MetricUnit.Count, value=1)
    logger.info("event projected", extra={"duplicate": not appended})
    return {"orderId": cloud_event.subject, "eventId": cloud_event.id, "duplicate": not appended}
