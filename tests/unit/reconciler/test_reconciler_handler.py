"""The handler: one run per invocation, its report returned, one log line per job."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.handlers import reconcile
from tests.unit.domain_common.fixtures import FakeLambdaContext
from tests.unit.reconciler.conftest import World


def messages(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name != "botocore"]


def test_a_scheduled_run_repairs_reports_and_logs_one_line_per_job(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.placed_order(relayed=False)
    cancelled = world.placed_order()
    world.authorization(cancelled.order_id)
    world.set_order(cancelled.order_id, status="CANCELLED", reason="SAGA_FAILED")
    caplog.clear()

    report = reconcile.handler({"source": "aws.events"}, FakeLambdaContext())

    assert report["acquired"] and report["token"] == 1 and not report["fencedOff"]
    assert [(job["job"], job["found"], job["fixed"]) for job in report["jobs"]] == [
        ("outbox", 1, 1),
        ("stalled_orders", 1, 0),
        ("reservations", 0, 0),
        ("payments", 1, 1),
    ]
    lines = [r for r in messages(caplog) if r.getMessage().startswith("reconciler job")]
    assert [line.job for line in lines] == [  # type: ignore[attr-defined]
        "outbox",
        "stalled_orders",
        "reservations",
        "payments",
    ]
    assert lines[0].getMessage() == "reconciler job outbox: found 1, fixed 1"
    assert lines[0].outcomes == {"republished": 1}  # type: ignore[attr-defined]
    assert lines[3].getMessage() == "reconciler job payments: found 1, fixed 1"
    assert lines[3].outcomes == {"voided": 1}  # type: ignore[attr-defined]


def test_an_invocation_while_another_holds_the_lease_does_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.placed_order(relayed=False)
    assert world.leases.acquire("someone-else", datetime.now(UTC), timedelta(minutes=5))

    report = reconcile.handler({}, FakeLambdaContext())

    assert not report["acquired"] and report["jobs"] == []
    assert report["holder"]["owner"] == "someone-else"
    assert world.bus.delivered() == []
    assert any("lease held by another" in r.getMessage() for r in messages(caplog))
