"""Notifications data access, and the per-execution-environment instances handlers use."""

from functools import cache

from notifications.dal.repository import AuditRepository, NotificationsRepository
from notifications.settings import get_audit_settings, get_notifier_settings


@cache
def get_notifications() -> NotificationsRepository:
    return NotificationsRepository(get_notifier_settings().notifications_table)


@cache
def get_audit() -> AuditRepository:
    return AuditRepository(get_audit_settings().audit_table)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (get_notifier_settings, get_audit_settings, get_notifications, get_audit):
        factory.cache_clear()


__all__ = ["AuditRepository", "NotificationsRepository", "get_audit", "get_notifications", "reset"]
