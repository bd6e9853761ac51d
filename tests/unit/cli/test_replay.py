"""``orderflow replay``'s rebuild and comparison on moto's DynamoDB: events recorded by the
projector's code into a live table and, replayed, into a new one; and its input checks.
(StartReplay and the replay queue are exercised on the emulator: tests/integration.)"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from orderflow_cli import replay
from orderflow_cli.main import app
from orders.dal.views import OrderViews
from orders.logic.projection import project
from shared_kernel.cloudevents import CloudEvent, from_eventbridge
from tests.sample_events import delivered, fresh_entry
from tests.unit.domain_common.fixtures import REGION, create_table

LIVE, REBUILT = "views-live", "views-rebuilt"
CONFIRMED = ("order-placed", "inventory-reserved", "payment-authorized", "order-confirmed")


def order_events(order_id: str, names: tuple[str, ...] = CONFIRMED) -> list[CloudEvent]:
    """The events of one order, each a millisecond after the previous (as the saga publishes
    them: one step after the other)."""
    events = [from_eventbridge(delivered(fresh_entry(name, order_id))) for name in names]
    start = events[0].time
    return [
        event.model_copy(update={"time": start + timedelta(milliseconds=index)})
        for index, event in enumerate(events)
    ]


@pytest.fixture
def tables(mocked_aws: None) -> tuple[OrderViews, OrderViews]:
    create_table(LIVE)
    create_table(REBUILT)
    return OrderViews(LIVE), OrderViews(REBUILT)


def compare() -> replay.Comparison:
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    return replay.compare(dynamodb.Table(LIVE), dynamodb.Table(REBUILT))


def test_a_read_model_rebuilt_from_events_in_any_arrival_order_equals_the_live_one(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    confirmed = order_events("ord-confirmed")
    cancelled = order_events(
        "ord-cancelled",
        ("order-placed", "inventory-reserved", "payment-declined", "order-cancelled"),
    )
    for event in [*confirmed, *cancelled]:
        project(event, live)
    replayed = [*confirmed, *cancelled]
    random.Random(7).shuffle(replayed)  # a replay delivers in no particular order

    assert replay.rebuild(rebuilt, replayed) == (8, [])
    result = compare()

    assert result.compared == 2
    assert result.skipped == []
    assert result.differing == {}


def test_a_missing_event_is_a_difference_of_history_and_status(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    events = order_events("ord-1")
    for event in events:
        project(event, live)

    replay.rebuild(rebuilt, events[:-1])  # OrderConfirmed not replayed
    result = compare()

    assert result.compared == 1
    differences = result.differing["ord-1"]
    assert f"event {events[-1].id} (OrderConfirmed) only in the live model" in differences
    assert "status: live CONFIRMED, rebuilt PENDING" in differences
    assert "view.status: live 'CONFIRMED', rebuilt 'PENDING'" in differences


def test_different_event_contents_are_a_difference(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    events = order_events("ord-1")
    for event in events:
        project(event, live)
    changed = events[1].model_copy(update={"data": {**events[1].data, "orderId": "ord-1-x"}})

    replay.rebuild(rebuilt, [events[0], changed, *events[2:]])

    [difference] = compare().differing["ord-1"]
    assert difference.startswith(f"event {events[1].id} differs")


def test_events_the_live_projector_recorded_out_of_order_are_a_difference(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    placed, reserved, authorized, confirmed = order_events("ord-1")
    # live: InventoryReserved's projection failed and was retried after the next event
    for event in (placed, authorized, reserved, confirmed):
        project(event, live)

    replay.rebuild(rebuilt, [placed, reserved, authorized, confirmed])

    [difference] = compare().differing["ord-1"]
    assert difference.startswith("order of events: live ['OrderPlaced', 'PaymentAuthorized'")


def test_an_order_placed_before_the_window_is_skipped_not_compared(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    events = order_events("ord-early")
    for event in events:
        project(event, live)

    replay.rebuild(rebuilt, events[2:])  # the window starts after OrderPlaced

    result = compare()
    assert (result.compared, result.skipped, result.differing) == (0, ["ord-early"], {})


def test_a_replayed_event_recorded_twice_counts_once(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    _, rebuilt = tables
    events = order_events("ord-1")

    assert replay.rebuild(rebuilt, [*events, events[1]]) == (4, [])


def test_a_live_read_model_that_missed_events_gets_them_and_keeps_what_it_had(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    """--into-live-read-model: the replay records into the live table; an order it lacked
    entirely comes out whole, in its events' order; one it held in part gets the rest."""
    live, _ = tables
    lacked = order_events("ord-lacked")  # e.g. placed before the views table existed
    held = order_events("ord-held")
    for event in held[:2]:
        project(event, live)
    replayed = [*held, *lacked]
    random.Random(3).shuffle(replayed)

    recorded, refused = replay.rebuild(live, replayed)

    assert (recorded, refused) == (6, [])
    table = boto3.resource("dynamodb", region_name=REGION).Table(LIVE)
    for order_id, events in (("ord-lacked", lacked), ("ord-held", held)):
        shown = replay.comparable(order_id, replay.view_of(table, order_id))
        assert shown["status"] == "CONFIRMED"
        assert [entry["id"] for entry in shown["history"]] == [event.id for event in events]


def test_a_malformed_event_is_reported_and_not_recorded_as_the_projector_does(
    tables: tuple[OrderViews, OrderViews],
) -> None:
    live, rebuilt = tables
    events = order_events("ord-1")
    for event in events:
        project(event, live)
    malformed = from_eventbridge(delivered(fresh_entry("malformed-order-placed", "ord-2")))

    recorded, refused = replay.rebuild(rebuilt, [*events, malformed])

    assert recorded == 4
    [reason] = refused
    assert reason.startswith(f"{malformed.id} (OrderPlaced ord-2): ")
    assert "data.items" in reason
    assert compare().differing == {}


@pytest.fixture
def outputs_file(tmp_path: Path) -> str:
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({"Orderflow": {"OrdersTableName": LIVE}}))
    return str(file)


WHEN = ["--from", "2026-12-01T10:00:00Z"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (WHEN, "say where to replay"),
        ([*WHEN, "--into-new-read-model", "--into-live-read-model"], "say where to replay"),
        ([*WHEN, "--into-live-read-model", "--table", "mine"], "--table and --drop"),
        ([*WHEN, "--into-live-read-model", "--drop"], "--table and --drop"),
        (
            [*WHEN, "--to", "2026-12-01T09:00:00Z", "--into-new-read-model"],
            "must be before --to",
        ),
        (["--from", "yesterday", "--into-new-read-model"], "is not an ISO 8601 time"),
    ],
)
def test_replay_refuses_a_window_or_target_it_cannot_use(
    outputs_file: str, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["--outputs", outputs_file, "replay", *arguments])

    assert result.exit_code == 2
    assert message in result.output


def test_a_time_without_an_offset_is_utc() -> None:
    assert replay.parse_time("2026-12-01T10:00:00").isoformat() == "2026-12-01T10:00:00+00:00"
    assert replay.parse_time("2026-12-01T10:00:00Z") == replay.parse_time(
        "2026-12-01T11:00:00+01:00"
    )


def test_the_window_is_widened_to_whole_seconds_as_event_times_have_no_fraction() -> None:
    start = replay.parse_time("2026-12-01T10:00:00.700Z")
    end = replay.parse_time("2026-12-01T10:05:00.200Z")

    assert replay.whole_seconds(start, end) == (
        replay.parse_time("2026-12-01T10:00:00Z"),
        replay.parse_time("2026-12-01T10:05:01Z"),
    )
