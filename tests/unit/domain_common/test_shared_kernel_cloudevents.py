"""CloudEvent envelope: creation, EventBridge mapping, validation and CE conformance."""

import json
import re
from datetime import UTC, datetime

import pytest
from cloudevents.core.formats.json import JSONFormat
from pydantic import ValidationError

from shared_kernel.cloudevents import (
    CloudEvent,
    caused_by,
    from_eventbridge,
    malformed,
    new_event,
    parse_cloud_event,
    to_put_events_entry,
)
from shared_kernel.errors import BusinessError, MalformedEventError
from tests.sample_events import (
    DOMAIN_SAMPLES,
    MALFORMED_SAMPLES,
    delivered,
    load_entry,
)


def placed() -> CloudEvent:
    return new_event(
        type="OrderPlaced",
        source="orderflow.orders",
        subject="order-1",
        data={"orderId": "order-1", "total": "9.90"},
        correlation_id="corr-1",
    )


def as_delivered(event: CloudEvent) -> dict:
    return delivered(to_put_events_entry(event, "orderflow-test"))


def test_put_events_entry_carries_the_structured_cloudevent():
    event = placed()
    entry = to_put_events_entry(event, "orderflow-test")
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "orderflow.orders",
        "OrderPlaced",
        "orderflow-test",
    )
    detail = json.loads(entry["Detail"])
    assert detail["specversion"] == "1.0"
    assert detail["datacontenttype"] == "application/json"
    assert detail["correlationid"] == "corr-1"
    assert "causationid" not in detail  # absent optional attributes are omitted
    assert detail["time"].endswith("Z")


def test_round_trip_through_eventbridge_is_lossless():
    event = placed()
    assert from_eventbridge(as_delivered(event)) == event


def test_caused_by_keeps_the_flow_and_points_at_its_cause():
    parent = placed()
    child = caused_by(parent, "InventoryReserved", "orderflow.inventory", {"orderId": "order-1"})
    assert (child.subject, child.correlationid, child.causationid) == (
        "order-1",
        "corr-1",
        parent.id,
    )
    assert child.id != parent.id


def test_time_is_normalised_to_utc_and_naive_times_are_refused():
    event = placed().model_copy()
    payload = event.to_dict() | {"time": "2025-01-15T12:30:00+02:00"}
    assert parse_cloud_event(payload).time == datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
    with pytest.raises(MalformedEventError) as raised:
        parse_cloud_event(event.to_dict() | {"time": "2025-01-15T12:30:00"})
    assert raised.value.field == "detail.time"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("correlationid"), "detail.correlationid"),
        (lambda d: d.pop("subject"), "detail.subject"),
        (lambda d: d.update(specversion="0.3"), "detail.specversion"),
        (lambda d: d.update(type="order placed"), "detail.type"),
        (lambda d: d.update(datacontenttype="text/xml"), "detail.datacontenttype"),
        (lambda d: d.update(data="not an object"), "detail.data"),
        (lambda d: d.update(id=""), "detail.id"),
    ],
)
def test_malformed_cloudevent_names_the_field_at_fault(change, field):
    delivery = as_delivered(placed())
    change(delivery["detail"])
    with pytest.raises(MalformedEventError) as raised:
        from_eventbridge(delivery)
    assert raised.value.field == field
    assert raised.value.reason == "MALFORMED_EVENT"
    assert isinstance(raised.value, BusinessError)  # never retried


def test_illegal_extension_names_are_refused():
    with pytest.raises(MalformedEventError, match="illegal extension"):
        parse_cloud_event(placed().to_dict() | {"Trace-Id": "x"})
    with pytest.raises(MalformedEventError, match="illegal extension"):
        parse_cloud_event(placed().to_dict() | {"x" * 21: "x"})  # at most 20 characters
    assert parse_cloud_event(placed().to_dict() | {"traceparent": "00-abc"}).model_extra == {
        "traceparent": "00-abc"
    }


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda e: e.update({"detail-type": "OrderCancelled"}), "detail", "detail-type"),
        (lambda e: e.update(source="orderflow.payments"), "detail", "source"),
        (lambda e: e.pop("detail"), "detail", "required"),
        (lambda e: e.update(detail="{}"), "detail", ""),
    ],
)
def test_envelope_must_agree_with_the_cloudevent(change, field, problem):
    delivery = as_delivered(placed())
    change(delivery)
    with pytest.raises(MalformedEventError) as raised:
        from_eventbridge(delivery)
    assert raised.value.field == field
    assert problem in raised.value.problem


def sdk_read(text: str):
    """The reference SDK's structured-JSON reader (it validates every attribute)."""
    return JSONFormat().read(None, text)


def test_cloudevents_sdk_accepts_our_json():
    # The reference SDK reads our structured JSON with every attribute intact
    parent = placed()
    event = caused_by(parent, "InventoryReserved", "orderflow.inventory", {"orderId": "order-1"})
    sdk_event = sdk_read(event.to_json())
    assert (sdk_event.get_id(), sdk_event.get_type(), sdk_event.get_source()) == (
        event.id,
        "InventoryReserved",
        "orderflow.inventory",
    )
    assert sdk_event.get_extension("correlationid") == "corr-1"
    assert sdk_event.get_extension("causationid") == parent.id
    assert sdk_event.get_time() == event.time
    assert sdk_event.get_data() == event.data


def test_json_round_trip_is_lossless_and_time_has_milliseconds():
    # Given an event on a whole second, with a cause and an extra extension
    event = caused_by(placed(), "InventoryReserved", "orderflow.inventory", {"orderId": "order-1"})
    event = parse_cloud_event(
        event.to_dict() | {"time": "2025-01-15T10:30:00Z", "traceparent": "00-abc"}
    )
    # When it is written (the EventBridge Detail) and read back
    text = to_put_events_entry(event, "orderflow-test")["Detail"]
    # Then the SDK wrote it, fixed-width milliseconds and Z, and both readers get it back
    assert text == event.to_json()
    assert json.loads(text)["time"] == "2025-01-15T10:30:00.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", placed().to_dict()["time"])
    assert CloudEvent.model_validate_json(text) == event
    assert sdk_read(text).get_attributes() == event.get_attributes()
    assert json.loads(event.model_dump_json(exclude_none=True)) == json.loads(text)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(CorrelationId=d.pop("correlationid")), "detail.correlationid"),
        (lambda d: d.pop("id"), "detail.id"),  # not invented
        (lambda d: d.pop("time"), "detail.time"),  # not invented
        (lambda d: d.update(time="2025-01-15T10:30:00"), "detail.time"),
        (lambda d: d.update(data=None, data_base64="aGk="), "detail.data"),  # bytes
    ],
)
def test_json_is_read_without_coercion(change, field):
    # The SDK's reader neither lower-cases names nor invents an id or a time
    detail = placed().to_dict()
    change(detail)
    with pytest.raises(ValidationError) as raised:
        CloudEvent.model_validate_json(json.dumps(detail))
    assert malformed(raised.value, prefix="detail").field == field


def test_unreadable_json_is_a_validation_error():
    with pytest.raises(ValidationError, match="not a structured-mode CloudEvent"):
        CloudEvent.model_validate_json("{not json")


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_every_sample_file_is_a_valid_put_events_entry(name):
    entry = load_entry(name)
    assert entry["EventBusName"] == "orderflow-dev"
    assert isinstance(entry["Detail"], str)  # the CLI wants a JSON string
    event = from_eventbridge(delivered(entry))
    assert event.subject == event.data["orderId"]
    assert sdk_read(entry["Detail"]).get_type() == entry["DetailType"]


@pytest.mark.parametrize("name", MALFORMED_SAMPLES)
def test_malformed_sample_has_a_valid_envelope_but_invalid_data(name):
    from orders.events import OrderPlacedData

    event = from_eventbridge(delivered(load_entry(name)))
    with pytest.raises(MalformedEventError) as raised:
        event.data_as(OrderPlacedData)
    assert raised.value.field == "data.items"
