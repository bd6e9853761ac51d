"""The reconciler's settings per stage (``DeploymentConfig.reconciler``).

Context ``orderflow:reconciler`` (or ``ORDERFLOW_RECONCILER``) takes a JSON object of these
fields, e.g. ``cdk deploy -c orderflow:reconciler='{"order_sla_seconds": 900}'``. The defaults
suit every stage (dev, the emulator, prod); they are the numbers the reasoning below gives.
"""

from pydantic import Field, model_validator

from infra.sections import ConfigSection


class ReconcilerConfig(ConfigSection):
    """The reconciler's schedule, lease, grace period, SLA and bound (``infra/reconciler.py``
    deploys it)."""

    schedule: str = Field(default="rate(1 minute)", pattern=r"^(rate|cron)\(.+\)$")
    """How often EventBridge invokes the reconciler. A minute bounds how long a stuck record
    waits past its grace period or SLA; each run is cheap (a few bounded scan pages)."""

    timeout_seconds: int = Field(default=60, ge=10, le=900)
    """The function's timeout: the longest one run may take. Jobs stop ``safety_margin``
    before it."""

    lease_seconds: int = Field(default=90, ge=10)
    """How long one acquisition or renewal holds the lease. More than ``timeout_seconds`` (a
    holder that is still allowed to run never loses its lease by expiry); the lease is
    released at the end of a run, so it only delays the next run after a crash (at most
    ``lease_seconds``, i.e. one or two ticks)."""

    safety_margin_seconds: int = Field(default=10, ge=1)
    """A job stops this long before the lease expires or the function times out."""

    grace_seconds: int = Field(default=120, ge=0)
    """A PENDING outbox item, or a RESERVED reservation of a settled order, older than this
    is stuck. The relay publishes within a second and retries a failed batch for about a
    minute (5 attempts with backoff); a smaller grace only publishes events twice (harmless,
    consumers dedupe by id, but noisy)."""

    order_sla_seconds: int = Field(default=300, ge=0)
    """A PENDING order older than this with no running saga is stalled. Its saga claims it
    within seconds of OrderPlaced; a RUNNING saga is never touched, so the SLA only needs to
    cover the relay, the rule's delivery and RecordOrder, with room for their retries."""

    max_saga_restarts: int = Field(default=2, ge=0)
    """Restarts of a stalled order's saga before it is cancelled (``SAGA_NOT_STARTED``): with
    the SLA and the schedule, an order is settled within ~SLA x (restarts + 1) + a minute."""

    page_size: int = Field(default=100, ge=1, le=1000)
    """Items read per scan page (before the filter)."""

    max_pages: int = Field(default=10, ge=1)
    """Pages per job per run: at most 1,000 items read per job per minute; the scan resumes
    from its cursor (kept on the lease) at the next run."""

    @model_validator(mode="after")
    def _lease_outlives_a_run(self) -> "ReconcilerConfig":
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("lease_seconds must exceed timeout_seconds (the longest run)")
        if self.safety_margin_seconds >= self.timeout_seconds:
            raise ValueError("safety_margin_seconds must be less than timeout_seconds")
        return self

    def environment(self) -> dict[str, str]:
        """The function's settings (``reconciler.settings``)."""
        return {
            "LEASE_SECONDS": str(self.lease_seconds),
            "GRACE_SECONDS": str(self.grace_seconds),
            "ORDER_SLA_SECONDS": str(self.order_sla_seconds),
            "MAX_SAGA_RESTARTS": str(self.max_saga_restarts),
            "PAGE_SIZE": str(self.page_size),
            "MAX_PAGES": str(self.max_pages),
            "SAFETY_MARGIN_SECONDS": str(self.safety_margin_seconds),
        }
