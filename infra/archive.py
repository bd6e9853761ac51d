"""Settings of the bus's event archive (``DeploymentConfig.archive``)."""

from pydantic import BaseModel, ConfigDict, Field


class ArchiveConfig(BaseModel):
    """The event archive of the bus: every orderflow event, kept ``retention_days`` to be
    replayed (``orderflow replay``: the read model rebuilt from events).

    Context ``orderflow:archive`` takes JSON, e.g. ``{"retention_days": 30}``.
    """

    model_config = ConfigDict(frozen=True)

    retention_days: int | None = Field(default=None, ge=0)
    """Days an event stays replayable; 0 keeps it indefinitely. Default per stage: 365 in
    prod (a year of events to rebuild a read model or audit from; archive storage costs per
    GB), 7 elsewhere (a week covers a test or a debugging session)."""

    def retention_for(self, stage: str) -> int:
        if self.retention_days is not None:
            return self.retention_days
        return 365 if stage == "prod" else 7
