"""The emulator kit's archive and replay fixes (orderflow_hostexec/archive.py): the parts that
decide, without LocalStack (the patches themselves run in tests/integration)."""

from datetime import UTC, datetime

from orderflow_hostexec import archive, registry

START = datetime(2026, 12, 1, 2, 17, 30, tzinfo=UTC)
END = datetime(2026, 12, 1, 2, 20, 10, tzinfo=UTC)


def test_an_archived_time_string_is_read_as_utc() -> None:
    assert archive.event_time("2026-12-01T02:17:47Z") == datetime(
        2026, 12, 1, 2, 17, 47, tzinfo=UTC
    )
    assert archive.event_time(datetime(2026, 12, 1, 2, 17, 47)).tzinfo == UTC


def test_events_are_selected_by_their_time_between_start_and_end_as_on_aws() -> None:
    assert archive.in_window("2026-12-01T02:17:30Z", START, END)
    assert archive.in_window("2026-12-01T02:20:10Z", START, END)
    # LocalStack rounded to the minute, and replayed these too
    assert not archive.in_window("2026-12-01T02:17:29Z", START, END)
    assert not archive.in_window("2026-12-01T02:20:11Z", START, END)


def test_a_replay_with_filter_arns_reaches_only_those_rules() -> None:
    rule = "arn:aws:events:us-east-1:000000000000:rule/bus/replayed"
    other = "arn:aws:events:us-east-1:000000000000:rule/bus/live"
    destination = {"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/bus"}

    assert archive.rule_receives_replayed(rule, {**destination, "FilterArns": [rule]})
    assert not archive.rule_receives_replayed(other, {**destination, "FilterArns": [rule]})
    # without FilterArns, every rule of the bus (AWS's behaviour too)
    assert archive.rule_receives_replayed(other, destination)
    assert archive.rule_receives_replayed(other, {**destination, "FilterArns": []})


def test_the_archive_resource_passes_its_properties_to_the_events_api() -> None:
    model = {
        "SourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/bus",
        "EventPattern": {"source": [{"prefix": "orderflow."}]},
        "RetentionDays": "7",
        "Description": "d",
    }

    assert archive._archive_request(model) == {
        "EventPattern": '{"source": [{"prefix": "orderflow."}]}',
        "RetentionDays": 7,
        "Description": "d",
    }
    # CloudFormation may hand the pattern over as a string already
    assert archive._archive_request({"EventPattern": "{}"}) == {"EventPattern": "{}"}


def test_the_archive_fixes_are_registered_as_behaviour_fixes() -> None:
    names = {patch.name for patch in registry.BEHAVIOUR_FIXES}

    assert {
        "events.archive-resource",
        "events.replay-window",
        "events.replay-filter-arns",
    } <= names
