"""The base of a settings section: one nested field of ``DeploymentConfig`` (``saga_timeouts``,
``reconciler``, ``resilience``, ``archive``), with one way to set it and one way to default it.

- **Setting it**: context ``orderflow:<fieldName>`` (or ``ORDERFLOW_<FIELD_NAME>``) takes a
  JSON object with snake_case keys, any subset, nested sections included, e.g.
  ``-c orderflow:resilience='{"bulkheads": {"account_concurrency": 10}}'``. It is merged
  (deeply) onto the stage's defaults; what it leaves out keeps them.
- **Defaulting it**: the fields' defaults hold for every stage; a section whose defaults differ
  by stage overrides ``stage_defaults``, which returns what that stage changes (the same shape
  as an override).

``DeploymentConfig`` does both in one validator (``_section_from_stage_and_context``); a
section checks only its own values (field constraints, a ``model_validator`` across fields).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict


class ConfigSection(BaseModel):
    """A settings section: frozen, and unknown keys refused (a typo is an error, not a no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        """What ``stage`` changes from the fields' defaults (none, unless a section says so)."""
        return {}


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, nested objects key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
