"""Powertools helpers shared by the domain services: metrics namespace and correlation ids."""

import os
import uuid

from aws_lambda_powertools import Logger, Metrics

from shared_kernel.cloudevents import CloudEvent

DEFAULT_METRICS_NAMESPACE = "Orderflow"


def metrics_namespace() -> str:
    """POWERTOOLS_METRICS_NAMESPACE, or "Orderflow" when it is unset."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE


def build_metrics(service: str) -> Metrics:
    """EMF metrics of one service (dimension `service`) in the orderflow namespace."""
    return Metrics(namespace=metrics_namespace(), service=service)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def bind_correlation(logger: Logger, correlation_id: str, order_id: str | None = None) -> None:
    """Put the flow's correlation id (and the order id) on every following log line."""
    logger.set_correlation_id(correlation_id)
    if order_id is not None:
        logger.append_keys(order_id=order_id)


EVENT_KEYS = ("correlation_id", "order_id", "event_id", "event_type")
"""The log keys ``bind_event`` sets."""


def bind_event(logger: Logger, event: CloudEvent) -> None:
    """Log lines about one consumed event carry its correlation, order, id and type."""
    bind_correlation(logger, event.correlationid, order_id=event.subject)
    logger.append_keys(event_id=event.id, event_type=event.type)


def unbind_event(logger: Logger) -> None:
    """Forget the keys ``bind_event`` set: in a batch, the next record is another event (which
    may not even parse), and its log lines must not carry the previous one's ids."""
    logger.remove_keys(EVENT_KEYS)
