"""The transactional outbox relay, fed DynamoDB stream records of the orders table."""

import json
from typing import Any

from orders.handlers import outbox_relay, place_order
from shared_kernel import aws
from shared_kernel.cloudevents import CloudEvent, from_eventbridge
from tests.unit.domain_common.apigw import api_event
from tests.unit.domain_common.calls import dynamodb_calls
from tests.unit.domain_common.fixtures import BusSpy, fail_put_events

BODY = {
    "items": [{"sku": "SKU-TEE-002", "quantity": 1}],
    "paymentToken": "tok_ok",
}


def place(lambda_context) -> None:
    response = place_order.handler(
        api_event("POST", "/orders", body=BODY, customer="customer-42"), lambda_context
    )
    assert response["statusCode"] == 202


def inserts(orders_table, make_stream_record) -> list[dict[str, Any]]:
    """The INSERT records the stream carries for everything in the table."""
    return [make_stream_record("INSERT", item) for item in orders_table.items()]


def relay(records: list[dict[str, Any]], lambda_context) -> dict[str, Any]:
    return outbox_relay.handler({"Records": records}, lambda_context)


def test_relay_publishes_pending_event_and_marks_it_sent(
    orders_table, bus: BusSpy, make_stream_record, lambda_context
):
    # Given an order placed: the stream carries the order's and the outbox item's INSERTs
    place(lambda_context)
    [outbox] = orders_table.outbox()
    records = inserts(orders_table, make_stream_record)
    # When the relay processes the batch
    with dynamodb_calls() as calls:
        response = relay(records, lambda_context)
    # Then nothing failed, exactly the outbox event is on the bus, and the item is SENT
    assert response == {"batchItemFailures": []}
    # With one write and no read: the event came from the stream record's image
    assert calls == ["UpdateItem"]
    [published] = [from_eventbridge(event) for event in bus.delivered()]
    assert published == CloudEvent.model_validate_json(outbox["event"])
    [sent] = orders_table.outbox()
    assert sent["status"] == "SENT"
    assert "sentAt" in sent


def test_failed_publish_is_reported_recorded_and_retried_without_loss(
    orders_table, bus: BusSpy, make_stream_record, lambda_context, monkeypatch
):
    # Given EventBridge throttles every entry
    place(lambda_context)
    records = inserts(orders_table, make_stream_record)
    outbox_record = next(r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] == "OUTBOX")
    with monkeypatch.context() as patch:
        fail_put_events(patch)
        # When the relay processes the batch
        response = relay(records, lambda_context)
    # Then the outbox record is reported as failed (and only it)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": outbox_record["dynamodb"]["SequenceNumber"]}]
    }
    # And the item stays PENDING with the attempt counted and the error kept
    [stuck] = orders_table.outbox()
    assert (stuck["status"], stuck["attempts"]) == ("PENDING", 1)
    assert "ThrottlingException" in stuck["lastError"]
    assert bus.delivered() == []
    # When Lambda retries the batch and EventBridge has recovered
    assert relay(records, lambda_context) == {"batchItemFailures": []}
    # Then the event is published once and the item is SENT
    assert bus.detail_types() == ["OrderPlaced"]
    assert orders_table.outbox()[0]["status"] == "SENT"


def test_own_failure_bookkeeping_does_not_trigger_another_publish(
    orders_table, bus: BusSpy, make_stream_record, lambda_context
):
    # Given the MODIFY record produced by the relay recording a failed attempt
    place(lambda_context)
    [outbox] = orders_table.outbox()
    bumped = {**outbox, "attempts": 1, "lastError": "ThrottlingException: rate exceeded"}
    record = make_stream_record("MODIFY", bumped, old_image=outbox)
    # When it reaches the relay
    assert relay([record], lambda_context) == {"batchItemFailures": []}
    # Then it is ignored (Lambda is already retrying the original record)
    assert bus.delivered() == []
    assert orders_table.outbox()[0]["status"] == "PENDING"


def test_operator_redrive_of_a_stuck_item_publishes_it(
    orders_table, bus: BusSpy, make_stream_record, lambda_context
):
    # Given a stuck item an operator touches without changing its attempts
    place(lambda_context)
    [outbox] = orders_table.outbox()
    stuck = {**outbox, "attempts": 3, "lastError": "ThrottlingException"}
    touched = {**stuck, "redriveAt": "2025-01-15T11:00:00Z"}
    # When the MODIFY record arrives
    relay([make_stream_record("MODIFY", touched, old_image=stuck)], lambda_context)
    # Then the event is published
    assert bus.detail_types() == ["OrderPlaced"]


def test_redelivery_of_a_sent_item_is_logged_as_a_duplicate_and_does_not_fail(
    orders_table, bus: BusSpy, make_stream_record, lambda_context, caplog
):
    # Given a batch relayed successfully
    place(lambda_context)
    records = inserts(orders_table, make_stream_record)
    relay(records, lambda_context)
    [sent] = orders_table.outbox()
    caplog.clear()
    # When the same records are delivered again (at-least-once stream)
    with dynamodb_calls() as calls:
        response = relay(records, lambda_context)
    # Then nothing fails: the image still says PENDING, so the event goes out a second time
    # (same CloudEvent id: consumers drop it), and only the mark-SENT write is tried
    assert response == {"batchItemFailures": []}
    assert calls == ["UpdateItem"]
    first, second = bus.delivered()
    assert first["detail"]["id"] == second["detail"]["id"] == sent["pk"].removeprefix("OUTBOX#")
    # And the item is left as the first delivery marked it, the duplicate logged as such
    assert orders_table.outbox() == [sent]
    [warning] = [record for record in caplog.records if record.levelname == "WARNING"]
    assert "duplicate" in warning.getMessage()
    assert warning.outcome == "DUPLICATE"


def test_only_the_failing_records_of_a_batch_are_reported(
    orders_table, bus: BusSpy, make_stream_record, lambda_context, monkeypatch
):
    # Given two orders, and EventBridge refusing only the first one's event
    place(lambda_context)
    place(lambda_context)
    first, second = orders_table.outbox()
    refused_id = CloudEvent.model_validate_json(first["event"]).id
    client = aws.eventbridge()
    real_put_events = client.put_events

    def put_events(Entries, **kwargs):
        if refused_id in Entries[0]["Detail"]:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
        return real_put_events(Entries=Entries, **kwargs)

    monkeypatch.setattr(client, "put_events", put_events)
    records = [make_stream_record("INSERT", first), make_stream_record("INSERT", second)]
    # When the batch is relayed
    response = relay(records, lambda_context)
    # Then only the first is reported; the second went out
    assert response["batchItemFailures"] == [
        {"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}
    ]
    [published] = bus.delivered()
    assert published["detail"]["id"] == json.loads(second["event"])["id"]
    statuses = {item["pk"]: item["status"] for item in orders_table.outbox()}
    assert statuses == {first["pk"]: "PENDING", second["pk"]: "SENT"}


def test_non_outbox_and_removed_items_are_ignored(
    orders_table, bus: BusSpy, make_stream_record, lambda_context
):
    place(lambda_context)
    [order] = orders_table.orders()
    [outbox] = orders_table.outbox()
    records = [
        make_stream_record("INSERT", order),
        make_stream_record("MODIFY", {**order, "status": "CONFIRMED"}, old_image=order),
        make_stream_record("REMOVE", None, old_image=outbox),
        make_stream_record("MODIFY", {**outbox, "status": "SENT"}, old_image=outbox),
    ]
    assert relay(records, lambda_context) == {"batchItemFailures": []}
    assert bus.delivered() == []
