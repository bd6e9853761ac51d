"""One reconciler run: take the lease, run each job within the lease and the invocation's
time, renew between jobs, give the lease back (no I/O: the lease store and jobs are passed in).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from reconciler.logic.jobs import Budget, Job, run_job
from reconciler.models import Cursor, Lease, RunReport
from shared_kernel.fencing import FencedOff


class LeaseStore(Protocol):
    def acquire(self, owner: str, now: datetime, duration: timedelta) -> Lease | None: ...

    def renew(
        self, lease: Lease, now: datetime, duration: timedelta, cursors: dict[str, Cursor]
    ) -> Lease: ...

    def release(self, lease: Lease, now: datetime) -> bool: ...

    def holder(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Limits:
    """The lease's duration, how close to its expiry (or the function's timeout) a job stops,
    and each job's page size and number of pages per run."""

    lease: timedelta
    margin: timedelta
    page_size: int
    max_pages: int


def reconcile(
    owner: str,
    leases: LeaseStore,
    jobs: Sequence[Job],
    limits: Limits,
    *,
    clock: Callable[[], datetime],
    time_left: Callable[[], timedelta],
) -> RunReport:
    """Run `jobs` if `owner` gets the lease; a run that is fenced off (its renewal or a write
    refused: another holder took over) stops at once and says so."""
    lease = leases.acquire(owner, clock(), limits.lease)
    if lease is None:
        return RunReport(owner=owner, acquired=False, holder=leases.holder())
    report = RunReport(owner=owner, acquired=True, token=lease.token)
    cursors = dict(lease.cursors)
    try:
        for job in jobs:
            now = clock()
            deadline = min(lease.expires_at, now + time_left()) - limits.margin
            budget = Budget(deadline, clock, limits.page_size, limits.max_pages)
            job_report, cursors[job.name] = run_job(job, lease.fence, cursors.get(job.name), budget)
            report.jobs.append(job_report)
            lease = leases.renew(lease, clock(), limits.lease, cursors)
    except FencedOff:
        report.fenced_off = True
        return report
    leases.release(lease, clock())
    return report
