"""The PingSent consumer: records each event under its id."""

import pytest
from pydantic import ValidationError

from skeleton.handlers import ping
from tests.unit.lambda_events import FakeLambdaContext, eventbridge_event, load_sample
from tests.unit.skeleton.conftest import Stored


def test_ping_sent_event_is_recorded(lambda_context: FakeLambdaContext, stored: Stored) -> None:
    # Given the sample PingSent event as EventBridge delivers it to the rule target
    [entry] = load_sample("skeleton/ping_sent.json")
    event = eventbridge_event(entry)

    # When the consumer handles it
    ping.handler(event, lambda_context)

    # Then the table holds a record keyed by the event id with what the event said
    assert stored(f"event#{event['id']}") == {
        "pk": f"event#{event['id']}",
        "event_id": event["id"],
        "source": "orderflow.skeleton",
        "detail_type": "PingSent",
        "message": "hello from the skeleton",
        "sent_at": "2025-01-01T12:00:00Z",
    }


@pytest.mark.usefixtures("table")
def test_malformed_detail_fails_the_invocation(lambda_context: FakeLambdaContext) -> None:
    # Given a PingSent event whose detail has a message that is not a string
    event = eventbridge_event(
        {"Source": "orderflow.skeleton", "DetailType": "PingSent", "Detail": '{"message": 1}'}
    )

    # When the consumer handles it, then it fails (EventBridge retries, then dead-letters)
    with pytest.raises(ValidationError, match="message"):
        ping.handler(event, lambda_context)
