"""The reconciler, invoked by an EventBridge schedule (or by hand: any payload, it is ignored).

Takes the lease (``reconciler.dal.lease``); if another invocation holds it, returns at once
with ``acquired: false`` and the holder. Otherwise runs its jobs (``reconciler.logic.jobs``:
outbox, stalled_orders, reservations, payments), each within the lease and the invocation's
remaining time, renewing the lease between jobs, then releases it. Every write is fenced by the
lease's token. Returns the run's report (``RunReport.to_wire``); logs one line per job and counts,
per job, what it found and fixed (metrics ``ReconcilerFound`` / ``ReconcilerFixed``, dimension
``job``), plus ``ReconcilerLeaseBusy`` and ``ReconcilerFencedOff``.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from reconciler.dal import (
    get_inventory,
    get_lease_table,
    get_orders,
    get_payments,
    get_publisher,
    get_saga,
)
from reconciler.logic.jobs import Job, OutboxJob, PaymentsJob, ReservationsJob, StalledOrdersJob
from reconciler.logic.run import Limits, reconcile
from reconciler.models import JobReport
from reconciler.settings import get_settings
from shared_kernel.observability import METRICS_NAMESPACE, logger, metrics, tracer


def now() -> datetime:
    return datetime.now(UTC)


def jobs() -> list[Job]:
    """The jobs, in order: the outbox first (a stuck OrderPlaced published again starts its
    saga, so the order is not stalled), then stalled orders, then reservations and payments (an
    order the stalled-orders job cancelled has its reservation released and its payment
    voided in the same run)."""
    settings = get_settings()
    grace = timedelta(seconds=settings.grace_seconds)
    return [
        OutboxJob(get_orders(), get_publisher(), grace, now),
        StalledOrdersJob(
            get_orders(),
            get_saga(),
            timedelta(seconds=settings.order_sla_seconds),
            settings.max_saga_restarts,
            now,
        ),
        ReservationsJob(get_inventory(), get_orders(), get_publisher(), grace, now),
        PaymentsJob(get_payments(), get_orders(), get_publisher(), grace, now),
    ]


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    owner = f"{context.aws_request_id}/{uuid.uuid4().hex[:12]}"
    logger.append_keys(lease_owner=owner)
    limits = Limits(
        lease=timedelta(seconds=settings.lease_seconds),
        margin=timedelta(seconds=settings.safety_margin_seconds),
        page_size=settings.page_size,
        max_pages=settings.max_pages,
    )
    report = reconcile(
        owner,
        get_lease_table(),
        jobs(),
        limits,
        clock=now,
        time_left=lambda: timedelta(milliseconds=context.get_remaining_time_in_millis()),
    )
    if not report.acquired:
        metrics.add_metric(name="ReconcilerLeaseBusy", unit=MetricUnit.Count, value=1)
        logger.info("lease held by another reconciler: nothing done", extra=report.to_wire())
        return report.to_wire()
    logger.append_keys(lease_token=report.token)
    for job in report.jobs:
        _report_job(job)
    if report.fenced_off:
        metrics.add_metric(name="ReconcilerFencedOff", unit=MetricUnit.Count, value=1)
        logger.warning("fenced off: another reconciler took the lease over; stopped")
    return report.to_wire()


def _report_job(job: JobReport) -> None:
    """One log line and the found/fixed counts (dimension ``job``) of one job."""
    for name, value in (("ReconcilerFound", job.found), ("ReconcilerFixed", job.fixed)):
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": str(metrics.service)},
        ) as metric:
            metric.add_dimension(name="job", value=job.job)
    level = logger.warning if job.errors else logger.info
    level(f"reconciler job {job.job}: found {job.found}, fixed {job.fixed}", extra=job.to_wire())
