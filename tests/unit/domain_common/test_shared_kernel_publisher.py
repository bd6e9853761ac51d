"""EventPublisher against a mocked EventBridge bus."""

import pytest

from shared_kernel import aws
from shared_kernel.cloudevents import from_eventbridge, new_event
from shared_kernel.errors import TransientError
from shared_kernel.publisher import EventPublisher, PublishError
from tests.unit.domain_common.fixtures import BUS_NAME, BusSpy, fail_put_events


def events(count: int) -> list:
    return [
        new_event("OrderPlaced", "orderflow.orders", f"order-{n}", {"n": n}, "corr")
        for n in range(count)
    ]


def test_publishes_every_event_in_chunks_of_ten(bus: BusSpy):
    batch = events(23)
    EventPublisher(aws.eventbridge(), BUS_NAME).publish(batch)
    delivered = sorted(from_eventbridge(event).data["n"] for event in bus.delivered())
    assert delivered == list(range(23))


def test_failed_entries_raise_a_retryable_error_naming_them(bus: BusSpy, monkeypatch):
    fail_put_events(monkeypatch, "ThrottlingException")
    batch = events(2)
    with pytest.raises(PublishError) as raised:
        EventPublisher(aws.eventbridge(), BUS_NAME).publish(batch)
    assert isinstance(raised.value, TransientError)
    assert set(raised.value.failures) == {event.id for event in batch}
    assert "ThrottlingException" in str(raised.value)


def test_partially_failed_call_names_only_the_failed_entry(bus: BusSpy, monkeypatch):
    client = aws.eventbridge()
    real = client.put_events
    batch = events(3)

    def second_fails(Entries, **kwargs):
        response = real(Entries=[Entries[0], Entries[2]], **kwargs)
        results = response["Entries"]
        return {
            "FailedEntryCount": 1,
            "Entries": [results[0], {"ErrorCode": "InternalFailure"}, results[1]],
        }

    monkeypatch.setattr(client, "put_events", second_fails)
    with pytest.raises(PublishError) as raised:
        EventPublisher(client, BUS_NAME).publish(batch)
    assert list(raised.value.failures) == [batch[1].id]
    assert len(bus.delivered()) == 2


def test_missing_bus_is_a_publish_error(mocked_aws):
    with pytest.raises(PublishError) as raised:
        EventPublisher(aws.eventbridge(), "no-such-bus").publish(events(1))
    assert len(raised.value.failures) == 1
