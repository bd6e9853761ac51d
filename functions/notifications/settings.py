"""Environment of the notifications functions, one model per function so each gets only the
table it uses."""

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    notifications_table: str  # NOTIFICATIONS_TABLE: rendered customer messages


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    audit_table: str  # AUDIT_TABLE: the append-only audit trail


@cache
def get_notifier_settings() -> NotifierSettings:
    return NotifierSettings()


@cache
def get_audit_settings() -> AuditSettings:
    return AuditSettings()
