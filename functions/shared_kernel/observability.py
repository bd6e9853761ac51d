"""Observability, built once per execution environment: Powertools' logger, tracer and metrics.

An execution environment runs one function of one service, and Powertools reads the service's
name from ``POWERTOOLS_SERVICE_NAME`` (set by infra for every function), so one instance of each
serves every handler; handlers never build their own. Every metric goes to one namespace,
``METRICS_NAMESPACE`` (infra sets ``POWERTOOLS_METRICS_NAMESPACE`` from this constant), with the
service as a dimension.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

from shared_kernel.cloudevents import CloudEvent

METRICS_NAMESPACE = "orderflow"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)


def bind_correlation(correlation_id: str, order_id: str | None = None) -> None:
    """Put the flow's correlation id (and the order id) on every following log line."""
    logger.set_correlation_id(correlation_id)
    if order_id is not None:
        logger.append_keys(order_id=order_id)


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
