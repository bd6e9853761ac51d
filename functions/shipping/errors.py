"""Shipping's errors."""

from shared_kernel.errors import TransientError


class TaskNotificationFailed(TransientError):
    """Step Functions could not be told about the shipment (throttled, unavailable)."""
