"""The read-model projector, fed SQS batches of the sample events: each message body is the
EventBridge event the ``ProjectEvents`` rule sends to the projection queue."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders.dal import get_repository
from orders.dal.repository import OrdersRepository
from orders.errors import ProjectionContention
from orders.handlers import projector
from orders.logic.projection import history_entry
from orders.logic.projection import project as project_event
from orders.models import ViewChange
from shared_kernel.cloudevents import CloudEvent
from tests.sample_events import DOMAIN_SAMPLES, fresh_delivery
from tests.unit.domain_common.sqs import sqs_record
from tests.unit.orders.calls import dynamodb_calls


def project(lambda_context, *bodies: Any, ids: dict[int, str] | None = None) -> dict[str, Any]:
    """One invocation with one SQS record per body (message ids from ``ids`` by position)."""
    records = [
        sqs_record(body, message_id=(ids or {}).get(index)) for index, body in enumerate(bodies)
    ]
    return projector.handler({"Records": records}, lambda_context)


def view(orders_table, order_id: str) -> dict:
    [item] = [i for i in orders_table.items(f"ORDER#{order_id}") if i["sk"] == "VIEW"]
    return item


def history(orders_table, order_id: str) -> list[dict]:
    return [i for i in orders_table.items(f"ORDER#{order_id}") if i["sk"].startswith("EVENT#")]


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


def test_order_placed_creates_a_pending_view_without_the_payment_token(
    orders_table, lambda_context
):
    delivery = fresh_delivery("order-placed", "order-1")
    assert project(lambda_context, delivery) == {"batchItemFailures": []}
    projected = view(orders_table, "order-1")
    assert (projected["status"], projected["customerId"], str(projected["total"])) == (
        "PENDING",
        "customer-42",
        "29.99",
    )
    [entry] = history(orders_table, "order-1")
    assert entry["sk"] == f"EVENT#{delivery['detail']['id']}"
    assert entry["sequence"] == 1
    assert "paymentToken" not in entry["data"]
    assert entry["data"]["orderId"] == "order-1"


def test_a_batch_of_events_is_projected_in_one_invocation(orders_table, lambda_context):
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
    assert {e["id"] for e in history(orders_table, "order-1")} == {d["detail"]["id"] for d in first}
    assert {e["id"] for e in history(orders_table, "order-2")} == {
        d["detail"]["id"] for d in second
    }
    assert view(orders_table, "order-1")["status"] == "CONFIRMED"
    cancelled = view(orders_table, "order-2")
    assert (cancelled["status"], cancelled["reason"]) == ("CANCELLED", "PAYMENT_DECLINED")
    assert cancelled["customerId"] == "customer-42"


def test_confirmation_wins_over_a_late_order_placed(orders_table, lambda_context):
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
        projected = view(orders_table, order_id)
        assert projected["status"] == "CONFIRMED"
        assert [line["sku"] for line in projected["items"]] == ["SKU-MUG-001", "SKU-STK-004"]


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_every_domain_event_lands_in_the_history(orders_table, lambda_context, name):
    delivery = fresh_delivery(name, "order-1")
    assert project(lambda_context, delivery) == {"batchItemFailures": []}
    [entry] = history(orders_table, "order-1")
    assert (entry["type"], entry["id"]) == (delivery["detail-type"], delivery["detail"]["id"])


# --- duplicates ---


def test_an_event_twice_in_one_batch_is_recorded_once(orders_table, lambda_context):
    # Given EventBridge delivered the same event twice (at least once): two messages, one batch
    delivery = fresh_delivery("inventory-reserved", "order-1")
    # When they are projected together
    response = project(lambda_context, delivery, delivery)
    # Then neither fails and the history holds the event once
    assert response == {"batchItemFailures": []}
    [entry] = history(orders_table, "order-1")
    assert entry["id"] == delivery["detail"]["id"]


def test_a_redelivered_batch_appends_nothing(orders_table, lambda_context, log_lines):
    # Given a batch already projected
    placed = fresh_delivery("order-placed", "order-1")
    cancelled = fresh_delivery("order-cancelled", "order-1")
    project(lambda_context, placed, cancelled)
    before = orders_table.items("ORDER#order-1")
    log_lines.lines.clear()
    # When SQS delivers the same messages again (a visibility timeout ran out)
    response = project(lambda_context, placed, cancelled)
    # Then nothing fails, no history is added, the view is unchanged but for updatedAt
    assert response == {"batchItemFailures": []}
    after = orders_table.items("ORDER#order-1")
    assert len(history(orders_table, "order-1")) == 2
    assert [without_updated_at(i) for i in after] == [without_updated_at(i) for i in before]
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
    orders_table, lambda_context, log_lines, name
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
    assert len(history(orders_table, "order-1")) == 2
    assert view(orders_table, "order-1")["status"] == "CONFIRMED"
    assert orders_table.items("ORDER#order-2") == []
    # And the reason is logged at error level, with none of the previous record's ids
    [error] = [line for line in log_lines.lines if line["level"] == "ERROR"]
    assert (error["field"], error["message_id"]) == (field, "bad")
    assert error["problem"]
    assert error.get("event_id") != placed["detail"]["id"]
    assert error.get("order_id") != "order-1"


def test_a_batch_that_fails_entirely_is_reported_record_by_record(orders_table, lambda_context):
    response = project(lambda_context, "{oops", {"hello": "world"}, ids={0: "m1", 1: "m2"})
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert orders_table.items() == []


def test_a_failed_write_fails_its_record_and_the_retry_projects_it(
    orders_table, lambda_context, log_lines, monkeypatch
):
    # Given DynamoDB throttles the history write of one event
    throttled = fresh_delivery("order-confirmed", "order-1")
    other = fresh_delivery("order-placed", "order-2")
    repository = get_repository()
    record_event = repository.record_event

    def flaky_record(event, entry, change):
        if event.id == throttled["detail"]["id"]:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "TransactWriteItems",
            )
        return record_event(event, entry, change)

    monkeypatch.setattr(repository, "record_event", flaky_record)
    # When the batch is projected
    response = project(lambda_context, throttled, other, ids={0: "throttled"})
    # Then only that record is reported, with the error logged; the other order is projected
    assert response == {"batchItemFailures": [{"itemIdentifier": "throttled"}]}
    assert history(orders_table, "order-1") == []
    assert view(orders_table, "order-2")["status"] == "PENDING"
    [error] = [line for line in log_lines.lines if line["level"] == "ERROR"]
    assert error["message_id"] == "throttled"
    assert "ProvisionedThroughputExceededException" in error["exception"]
    # And when SQS delivers it again, with DynamoDB back, it is projected
    monkeypatch.setattr(repository, "record_event", record_event)
    assert project(lambda_context, throttled) == {"batchItemFailures": []}
    assert view(orders_table, "order-1")["status"] == "CONFIRMED"


# --- the order's logical clock ---


def test_a_projector_that_lost_the_race_for_a_number_takes_the_next_one(orders_table, monkeypatch):
    # Given two events of one order, and a second projector that records the other event
    # right after the first projector read the order's clock (0)
    first, other = (
        CloudEvent.model_validate(fresh_delivery(name, "order-1")["detail"])
        for name in ("inventory-reserved", "payment-authorized")
    )
    repository = get_repository()
    rival = OrdersRepository(repository._table_name)
    read_clock = repository._table.get_item
    interleaved: list[bool] = []

    def read_then_lose_the_race(**kwargs):
        item = read_clock(**kwargs)
        if not interleaved:
            interleaved.append(rival.record_event(other, history_entry(other), ViewChange()))
        return item

    monkeypatch.setattr(repository._table, "get_item", read_then_lose_the_race)
    # When the first projector records its event
    assert project_event(first, repository)
    # Then the rival got 1, and the first projector, whose write was refused, read again and
    # took 2: one number per event, no gap, whatever the clocks of the functions said
    numbers = {entry["type"]: entry["sequence"] for entry in history(orders_table, "order-1")}
    assert numbers == {"PaymentAuthorized": 1, "InventoryReserved": 2}
    assert view(orders_table, "order-1")["lastSequence"] == 2


def test_a_projector_that_keeps_losing_the_race_fails_its_record(orders_table, monkeypatch):
    event = CloudEvent.model_validate(fresh_delivery("inventory-reserved", "order-1")["detail"])
    repository = get_repository()
    rival = OrdersRepository(repository._table_name)
    read_clock = repository._table.get_item

    def always_lose(**kwargs):
        item = read_clock(**kwargs)
        other = CloudEvent.model_validate(fresh_delivery("payment-authorized", "order-1")["detail"])
        rival.record_event(other, history_entry(other), ViewChange())
        return item

    monkeypatch.setattr(repository._table, "get_item", always_lose)
    with pytest.raises(ProjectionContention):
        project_event(event, repository)
    assert event.id not in {entry["id"] for entry in history(orders_table, "order-1")}


def test_a_redelivered_event_keeps_its_number_and_takes_no_new_one(orders_table, lambda_context):
    placed = fresh_delivery("order-placed", "order-1")
    reserved = fresh_delivery("inventory-reserved", "order-1")
    project(lambda_context, placed, reserved)
    project(lambda_context, placed)
    project(lambda_context, fresh_delivery("payment-authorized", "order-1"))
    numbers = {entry["type"]: entry["sequence"] for entry in history(orders_table, "order-1")}
    assert numbers == {"OrderPlaced": 1, "InventoryReserved": 2, "PaymentAuthorized": 3}


def test_a_projector_reads_an_orders_clock_only_for_its_first_event(orders_table, lambda_context):
    # Given a projector that recorded an order's OrderPlaced (reading the view: nothing yet)
    with dynamodb_calls() as first:
        project(lambda_context, fresh_delivery("order-placed", "order-1"))
    assert first == ["GetItem", "TransactWriteItems"]
    # When the order's next events come, one per invocation
    with dynamodb_calls() as later:
        for name in ("inventory-reserved", "payment-authorized"):
            project(lambda_context, fresh_delivery(name, "order-1"))
    # Then it writes each with the number it knows, without reading the view again
    assert later == ["TransactWriteItems", "TransactWriteItems"]
    numbers = {entry["type"]: entry["sequence"] for entry in history(orders_table, "order-1")}
    assert numbers == {"OrderPlaced": 1, "InventoryReserved": 2, "PaymentAuthorized": 3}


def test_a_projector_whose_known_clock_is_stale_reads_it_again(orders_table, lambda_context):
    # Given a projector that knows order-1's clock (1), and another that moved it on (2)
    project(lambda_context, fresh_delivery("order-placed", "order-1"))
    rival = OrdersRepository(get_repository()._table_name)
    other = CloudEvent.model_validate(fresh_delivery("payment-authorized", "order-1")["detail"])
    assert rival.record_event(other, history_entry(other), ViewChange())
    # When the first projector records the order's next event
    with dynamodb_calls() as calls:
        project(lambda_context, fresh_delivery("inventory-reserved", "order-1"))
    # Then its write with the stale number is refused, it reads the clock and takes 3
    assert calls == ["TransactWriteItems", "GetItem", "TransactWriteItems"]
    numbers = {entry["type"]: entry["sequence"] for entry in history(orders_table, "order-1")}
    assert numbers == {"OrderPlaced": 1, "PaymentAuthorized": 2, "InventoryReserved": 3}
    assert view(orders_table, "order-1")["lastSequence"] == 3
