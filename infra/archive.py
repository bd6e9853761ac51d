"""Settings of the bus's event archive (``DeploymentConfig.archive``)."""

from typing import Any

from pydantic import Field

from infra.sections import ConfigSection


class ArchiveConfig(ConfigSection):
    """The event archive of the bus: every orderflow event, kept ``retention_days`` to be
    replayed (``orderflow replay``: the read model rebuilt from events).

    Context ``orderflow:archive`` takes JSON, e.g. ``{"retention_days": 30}``.
    """

    retention_days: int = Field(default=7, ge=0)
    """Days an event stays replayable; 0 keeps it indefinitely. 7 by default (a week covers a
    test or a debugging session), 365 in prod (``stage_defaults``: a year of events to rebuild
    a read model or audit from; archive storage costs per GB)."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        return {"retention_days": 365} if stage == "prod" else {}
