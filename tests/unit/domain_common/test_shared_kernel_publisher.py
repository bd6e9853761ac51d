"""EventPublisher against a mocked EventBridge bus."""

import json

import pytest

from shared_kernel import aws
from shared_kernel.cloudevents import from_eventbridge, new_event
from shared_kernel.errors import TransientError
from shared_kernel.publisher import ENTRY_RETRY_DELAYS_S, EventPublisher, PublishError
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


def refusing(client, refuse):
    """``client.put_events`` that refuses the entries ``refuse(detail n, attempt)`` names (an
    error code) and really puts the others; the calls it saw, as lists of entry numbers."""
    real = client.put_events
    calls: list[list[int]] = []

    def put_events(Entries, **kwargs):
        numbers = [json.loads(entry["Detail"])["data"]["n"] for entry in Entries]
        calls.append(numbers)
        codes = [refuse(n, len(calls)) for n in numbers]
        accepted = [entry for entry, code in zip(Entries, codes, strict=True) if not code]
        results = iter(real(Entries=accepted, **kwargs)["Entries"] if accepted else [])
        return {
            "FailedEntryCount": sum(1 for code in codes if code),
            "Entries": [
                {"ErrorCode": code, "ErrorMessage": "refused"} if code else next(results)
                for code in codes
            ],
        }

    return put_events, calls


def test_entries_refused_for_a_transient_reason_are_put_again_alone(bus: BusSpy, monkeypatch):
    client = aws.eventbridge()
    put_events, calls = refusing(
        client, lambda n, call: "InternalFailure" if call == 1 and n == 1 else None
    )
    monkeypatch.setattr(client, "put_events", put_events)
    slept: list[float] = []
    EventPublisher(client, BUS_NAME, sleep=slept.append).publish(events(3))
    assert calls == [[0, 1, 2], [1]]
    assert len(slept) == 1 and 0 <= slept[0] <= ENTRY_RETRY_DELAYS_S[0]
    assert sorted(from_eventbridge(event).data["n"] for event in bus.delivered()) == [0, 1, 2]


def test_an_entry_refused_every_time_is_named_after_the_retries(bus: BusSpy, monkeypatch):
    client = aws.eventbridge()
    put_events, calls = refusing(client, lambda n, call: "ThrottlingException" if n == 1 else None)
    monkeypatch.setattr(client, "put_events", put_events)
    batch = events(3)
    with pytest.raises(PublishError) as raised:
        EventPublisher(client, BUS_NAME, sleep=lambda _: None).publish(batch)
    assert list(raised.value.failures) == [batch[1].id]
    assert calls == [[0, 1, 2]] + [[1]] * len(ENTRY_RETRY_DELAYS_S)
    assert len(bus.delivered()) == 2


def test_an_entry_refused_for_good_is_not_put_again(bus: BusSpy, monkeypatch):
    client = aws.eventbridge()
    put_events, calls = refusing(client, lambda n, call: "MalformedDetail" if n == 0 else None)
    monkeypatch.setattr(client, "put_events", put_events)
    with pytest.raises(PublishError, match="MalformedDetail"):
        EventPublisher(client, BUS_NAME, sleep=lambda _: None).publish(events(2))
    assert calls == [[0, 1]]


def test_missing_bus_is_a_publish_error(mocked_aws):
    with pytest.raises(PublishError) as raised:
        EventPublisher(aws.eventbridge(), "no-such-bus").publish(events(1))
    assert len(raised.value.failures) == 1
