"""The read-model projector, fed SQS batches of the sample events: each message body is the
EventBridge event the ``ProjectEvents`` rule sends to the projection queue."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders.dal import get_views
from orders.dal.views import SEQUENCE_ATTEMPTS, OrderViews
from orders.errors import ProjectionContention
from orders.handlers import projector
from orders.logic.projection import history_entry
from orders.logic.projection import project as project_event
from orders.models import ViewChange
from shared_kernel.cloudevents import CloudEvent
from tests.sample_events import DOMAIN_SAMPLES, fresh_delivery
from tests.unit.domain_common.calls import dynamodb_calls
from tests.unit.domain_common.fixtures import TABLE_ENV
from tests.unit.domain_common.sqs import sqs_record


def project(lambda_context, *bodies: Any, ids: dict[int, str] | None = None) -> dict[str, Any]:
    """One invocation with one SQS record per body (message ids from ``ids`` by position)."""
    records = [
        sqs_record(body, message_id=(ids or {}).get(index)) for index, body in enumerate(bodies)
    ]
    return projector.handler({"Records": records}, lambda_context)


def without_updated_at(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "updatedAt"}


class LogLines(logging.Handler):
    """The projector's log lines as Powertools writes them (JSON, with the keys appended at the
    time of each line)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(projector.logger.registered_formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


# --- projection ---


def test_order_placed_creates_a_pending_view_without_the_payment_token(views_table, lambda_context):
    delivery = fresh_delivery("order-placed", "order-1")
    assert project(lambda_context, delivery) == {"batchItemFailures": []}
    projected = views_table.view("order-1")
    assert (projected["status"], projected["customerId"], str(projected["total"])) == (
        "PENDING",
        "customer-42",
        "29.99",
    )
    [entry] = views_table.history("order-1")
    assert entry["id"] == delivery["detail"]["id"]
    assert entry["sequence"] == 1
    assert "paymentToken" not in entry["data"]
    assert entry["data"]["orderId"] == "order-1"


def test_a_batch_of_events_is_projected_in_one_invocation(views_table, lambda_context):
    # Given the events of two orders' sagas, interleaved in one batch
    first = [
        fresh_delivery(name, "order-1")
        for name in ("order-placed", "inventory-reserved", "payment-authorized", "order-confirmed")
    ]
    second = [fresh_delivery(name, "order-2") for name in ("order-placed", "order-cancelled")]
    batch = [first[0], second[0], first[1], first[2], second[1], first[3]]
    # When the projector receives them in one invocation
    response = project(lambda_context, *batch)
    # Then every event is in its order's history and both views are projected
    assert response == {"batchItemFailures": []}
    assert {e["id"] for e in views_table.history("order-1")} == {d["detail"]["id"] for d in first}
    assert {e["id"] for e in views_table.history("order-2")} == {d["detail"]["id"] for d in second}
    assert views_table.view("order-1")["status"] == "CONFIRMED"
    cancelled = views_table.view("order-2")
    assert (cancelled["status"], cancelled["reason"]) == ("CANCELLED", "PAYMENT_DECLINED")
    assert cancelled["customerId"] == "customer-42"


def test_confirmation_wins_over_a_late_order_placed(views_table, lambda_context):
    # Given OrderConfirmed is delivered before OrderPlaced, in one batch or in two
    project(lambda_context, fresh_delivery("order-confirmed", "order-1"))
    project(lambda_context, fresh_delivery("order-placed", "order-1"))
    project(
        lambda_context,
        fresh_delivery("order-confirmed", "order-2"),
        fresh_delivery("order-placed", "order-2"),
    )
    # Then each order stays CONFIRMED and still gets its items and total
    for order_id in ("order-1", "order-2"):
        projected = views_table.view(order_id)
        assert projected["status"] == "CONFIRMED"
        assert [line["sku"] for line in projected["items"]] == ["SKU-MUG-001", "SKU-STK-004"]


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_every_domain_event_lands_in_the_history(views_table, lambda_context, name):
    delivery = fresh_delivery(name, "order-1")
    assert project(lambda_context, delivery) == {"batchItemFailures": []}
    [entry] = views_table.history("order-1")
    assert (entry["type"], entry["id"]) == (delivery["detail-type"], delivery["detail"]["id"])


# --- duplicates ---


def test_an_event_twice_in_one_batch_is_recorded_once(views_table, lambda_context):
    # Given EventBridge delivered the same event twice (at least once): two messages, one batch
    delivery = fresh_delivery("inventory-reserved", "order-1")
    # When they are projected together
    response = project(lambda_context, delivery, delivery)
    # Then neither fails and the history holds the event once
    assert response == {"batchItemFailures": []}
    [entry] = views_table.history("order-1")
    assert entry["id"] == delivery["detail"]["id"]


def test_a_redelivered_batch_appends_nothing(views_table, lambda_context, log_lines):
    # Given a batch already projected
    placed = fresh_delivery("order-placed", "order-1")
    cancelled = fresh_delivery("order-cancelled", "order-1")
    project(lambda_context, placed, cancelled)
    before = views_table.view("order-1")
    log_lines.lines.clear()
    # When SQS delivers the same messages again (a visibility timeout ran out)
    response = project(lambda_context, placed, cancelled)
    # Then nothing fails, no history is added, the view is unchanged but for updatedAt
    assert response == {"batchItemFailures": []}
    after = views_table.view("order-1")
    assert len(views_table.history("order-1")) == 2
    assert without_updated_at(after) == without_updated_at(before)
    # And each record is logged as a duplicate
    projected = [line for line in log_lines.lines if line["message"] == "event projected"]
    assert [line["duplicate"] for line in projected] == [True, True]


# --- failures ---


def malformed_bodies() -> dict[str, Any]:
    confirmed = fresh_delivery("order-confirmed", "order-2")
    disagreeing = {**confirmed, "detail-type": "OrderCancelled"}
    return {
        "invalid data": (fresh_delivery("malformed-order-placed", "order-2"), "data.items"),
        "envelope disagrees with its cloudevent": (disagreeing, "body.detail"),
        "not json": ("{oops", "body"),
        "a bare cloudevent": (confirmed["detail"], "body.version"),
        "cloudevent without correlationid": (
            {
                **confirmed,
                "detail": {k: v for k, v in confirmed["detail"].items() if k != "correlationid"},
            },
            "body.detail.correlationid",
        ),
    }


@pytest.mark.parametrize("name", list(malformed_bodies()))
def test_a_malformed_record_fails_alone_and_its_reason_is_logged(
    views_table, lambda_context, log_lines, name
):
    # Given a malformed message between two good events of another order
    body, field = malformed_bodies()[name]
    placed = fresh_delivery("order-placed", "order-1")
    confirmed = fresh_delivery("order-confirmed", "order-1")
    # When the batch is projected
    response = project(lambda_context, placed, body, confirmed, ids={1: "bad"})
    # Then only the malformed record is reported (SQS receives it again, then the DLQ)...
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    # ...the others are projected, and nothing is written for the malformed one
    assert len(views_table.history("order-1")) == 2
    assert views_table.view("order-1")["status"] == "CONFIRMED"
    assert views_table.history("order-2") == []
    # And the reason is logged at error level, with none of the previous record's ids
    [error] = [line for line in log_lines.lines if line["level"] == "ERROR"]
    assert (error["field"], error["message_id"]) == (field, "bad")
    assert error["problem"]
    assert error.get("event_id") != placed["detail"]["id"]
    assert error.get("order_id") != "order-1"


def test_a_batch_that_fails_entirely_is_reported_record_by_record(views_table, lambda_context):
    response = project(lambda_context, "{oops", {"hello": "world"}, ids={0: "m1", 1: "m2"})
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert views_table.items() == []


def test_a_failed_write_fails_its_record_and_the_retry_projects_it(
    views_table, lambda_context, log_lines, monkeypatch
):
    # Given DynamoDB throttles the history write of one event
    throttled = fresh_delivery("order-confirmed", "order-1")
    other = fresh_delivery("order-placed", "order-2")
    repository = get_views()
    record_event = repository.record_event

    def flaky_record(event, entry, change):
        if event.id == throttled["detail"]["id"]:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )
        return record_event(event, entry, change)

    monkeypatch.setattr(repository, "record_event", flaky_record)
    # When the batch is projected
    response = project(lambda_context, throttled, other, ids={0: "throttled"})
    # Then only that record is reported, with the error logged; the other order is projected
    assert response == {"batchItemFailures": [{"itemIdentifier": "throttled"}]}
    assert views_table.history("order-1") == []
    assert views_table.view("order-2")["status"] == "PENDING"
    [error] = [line for line in log_lines.lines if line["level"] == "ERROR"]
    assert error["message_id"] == "throttled"
    assert "ProvisionedThroughputExceededException" in error["exception"]
    # And when SQS delivers it again, with DynamoDB back, it is projected
    monkeypatch.setattr(repository, "record_event", record_event)
    assert project(lambda_context, throttled) == {"batchItemFailures": []}
    assert views_table.view("order-1")["status"] == "CONFIRMED"


# --- the order's logical clock ---


def rival_records_first(views: OrderViews, monkeypatch, *, every_time: bool) -> None:
    """Another projector records an event of order-1 just before each write of ``views`` (the
    first write only, unless ``every_time``): the order's clock moves under it."""
    rival = OrderViews(TABLE_ENV["ORDER_VIEWS_TABLE"])
    write = views._table.update_item
    rivals: list[bool] = []

    def write_after_the_rival(**kwargs):
        if every_time or not rivals:
            other = CloudEvent.model_validate(
                fresh_delivery("payment-authorized", "order-1")["detail"]
            )
            rivals.append(rival.record_event(other, history_entry(other), ViewChange()))
        return write(**kwargs)

    monkeypatch.setattr(views._table, "update_item", write_after_the_rival)


def test_a_projector_that_lost_the_race_for_a_number_takes_the_next_one(views_table, monkeypatch):
    # Given a second projector that records another event of the order first
    first = CloudEvent.model_validate(fresh_delivery("inventory-reserved", "order-1")["detail"])
    views = get_views()
    rival_records_first(views, monkeypatch, every_time=False)
    # When the first projector records its event
    with dynamodb_calls() as calls:
        assert project_event(first, views)
    # Then the rival got 1; the first projector's write as number 1 was refused with the stored
    # view, and it took 2: one number per event, no gap, whatever the functions' clocks said
    assert calls == ["UpdateItem", "UpdateItem", "UpdateItem"]  # the rival's, refused, 2
    numbers = {entry["type"]: entry["sequence"] for entry in views_table.history("order-1")}
    assert numbers == {"PaymentAuthorized": 1, "InventoryReserved": 2}
    assert views_table.view("order-1")["lastSequence"] == 2


def test_a_projector_that_keeps_losing_the_race_fails_its_record(views_table, monkeypatch):
    event = CloudEvent.model_validate(fresh_delivery("inventory-reserved", "order-1")["detail"])
    views = get_views()
    rival_records_first(views, monkeypatch, every_time=True)
    with pytest.raises(ProjectionContention):
        project_event(event, views)
    assert event.id not in {entry["id"] for entry in views_table.history("order-1")}
    assert len(views_table.history("order-1")) == SEQUENCE_ATTEMPTS


def test_a_redelivered_event_keeps_its_number_and_takes_no_new_one(views_table, lambda_context):
    placed = fresh_delivery("order-placed", "order-1")
    reserved = fresh_delivery("inventory-reserved", "order-1")
    project(lambda_context, placed, reserved)
    project(lambda_context, placed)
    project(lambda_context, fresh_delivery("payment-authorized", "order-1"))
    numbers = {entry["type"]: entry["sequence"] for entry in views_table.history("order-1")}
    assert numbers == {"OrderPlaced": 1, "InventoryReserved": 2, "PaymentAuthorized": 3}


def test_a_projector_that_never_saw_the_order_knows_a_redelivery_from_the_refusal(views_table):
    # Given an event recorded by another projector
    reserved = CloudEvent.model_validate(fresh_delivery("inventory-reserved", "order-1")["detail"])
    assert OrderViews(TABLE_ENV["ORDER_VIEWS_TABLE"]).record_event(
        reserved, history_entry(reserved), ViewChange()
    )
    # When it is delivered again to a projector that does not know the order's clock
    with dynamodb_calls() as calls:
        recorded = project_event(reserved, OrderViews(TABLE_ENV["ORDER_VIEWS_TABLE"]))
    # Then its one write is refused, and the view it returns shows the event is there
    assert (recorded, calls) == (False, ["UpdateItem"])
    assert [entry["sequence"] for entry in views_table.history("order-1")] == [1]


def test_each_event_is_one_write_of_the_view(views_table, lambda_context):
    # Given a projector recording an order's events, one per invocation
    with dynamodb_calls() as calls:
        for name in ("order-placed", "inventory-reserved", "payment-authorized"):
            project(lambda_context, fresh_delivery(name, "order-1"))
    # Then each event is one conditional UpdateItem: no read, no transaction
    assert calls == ["UpdateItem", "UpdateItem", "UpdateItem"]
    numbers = {entry["type"]: entry["sequence"] for entry in views_table.history("order-1")}
    assert numbers == {"OrderPlaced": 1, "InventoryReserved": 2, "PaymentAuthorized": 3}


def test_a_projector_whose_known_clock_is_stale_takes_the_number_the_refusal_gives(
    views_table, lambda_context
):
    # Given a projector that knows order-1's clock (1), and another that moved it on (2)
    project(lambda_context, fresh_delivery("order-placed", "order-1"))
    rival = OrderViews(TABLE_ENV["ORDER_VIEWS_TABLE"])
    other = CloudEvent.model_validate(fresh_delivery("payment-authorized", "order-1")["detail"])
    assert rival.record_event(other, history_entry(other), ViewChange())
    # When the first projector records the order's next event
    with dynamodb_calls() as calls:
        project(lambda_context, fresh_delivery("inventory-reserved", "order-1"))
    # Then its write with the stale number is refused, and it writes again as 3 (no read)
    assert calls == ["UpdateItem", "UpdateItem"]
    numbers = {entry["type"]: entry["sequence"] for entry in views_table.history("order-1")}
    assert numbers == {"OrderPlaced": 1, "PaymentAuthorized": 2, "InventoryReserved": 3}
    assert views_table.view("order-1")["lastSequence"] == 3
