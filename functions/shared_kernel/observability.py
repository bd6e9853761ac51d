"""Observability, built once per execution environment: Powertools' logger, tracer and metrics.

An execution environment runs one function of one service, and Powertools reads the service's
name from ``POWERTOOLS_SERVICE_NAME`` (set by infra for every function), so one instance of each
serves every handler; handlers never build their own. Every metric goes to one namespace,
``METRICS_NAMESPACE`` (infra sets ``POWERTOOLS_METRICS_NAMESPACE`` from this constant), with the
service as a dimension.

Every span the application makes carries the X-Ray annotations ``order_id`` and
``correlation_id`` (``bind_correlation``), so ``GetTraceSummaries`` with
``annotation.order_id = "<id>"`` finds an order's trace (``orderflow trace`` relies on it).
"""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.models.facade_segment import FacadeSegment

from shared_kernel.cloudevents import CloudEvent

METRICS_NAMESPACE = "orderflow"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)
# An invocation with nothing to count (a GET, a batch of skipped records) is normal: without
# this, Powertools writes a UserWarning to the log in the first such invocation of every
# execution environment (its documentation's way to silence it).
warnings.filterwarnings("ignore", message="No application metrics to publish")


ANNOTATION_KEYS = ("order_id", "correlation_id")
"""The X-Ray annotations of every span about an order (the search keys of its trace)."""


def bind_correlation(correlation_id: str, order_id: str | None = None) -> None:
    """Put the flow's correlation id (and the order id) on every following log line, and as
    annotations on the current span."""
    logger.set_correlation_id(correlation_id)
    if order_id is not None:
        logger.append_keys(order_id=order_id)
    annotate(correlation_id=correlation_id, order_id=order_id)


def annotate(**annotations: str | None) -> None:
    """X-Ray annotations (indexed: ``annotation.<key> = "<value>"``) on the current segment or
    subsegment; those that are None are left out. Lambda's own segment (the facade the SDK
    holds outside any subsegment) takes none: outside a handler's subsegment or a span they
    go nowhere."""
    if tracer.disabled or not global_sdk_config.sdk_enabled():
        return
    if isinstance(xray_recorder.get_trace_entity(), FacadeSegment):
        return
    for key, value in annotations.items():
        if value is not None:
            tracer.put_annotation(key=key, value=value)


EVENT_KEYS = ("correlation_id", "order_id", "event_id", "event_type", "message_id")
"""The log keys that describe one consumed record (``bind_event`` and the batch consumer)."""


def bind_event(event: CloudEvent) -> None:
    """Log lines about one consumed event carry its correlation, order, id and type."""
    bind_correlation(event.correlationid, order_id=event.subject)
    logger.append_keys(event_id=event.id, event_type=event.type)


def unbind_record() -> None:
    """Forget the keys of the previous record: in a batch, the next record is another event
    (which may not even parse), and its log lines must not carry the previous one's ids."""
    logger.remove_keys(EVENT_KEYS)
