"""The ScheduleShipment SQS worker: idempotent shipments, task tokens, partial batches."""

import pytest

from shared_kernel.cloudevents import from_eventbridge
from shipping.dal.repository import ShipmentsRepository
from shipping.handlers import schedule_shipment
from shipping.logic.shipments import shipment_id_for
from tests.unit.domain_common.fixtures import BusSpy, fail_put_events


def request(order_id: str = "order-1", token: str = "token-1", **extra) -> dict:
    return {
        "orderId": order_id,
        "items": [{"sku": "SKU-MUG-001", "quantity": 2, "unitPrice": "12.50"}],
        "taskToken": token,
        "correlationId": "corr-1",
        "causationId": "placed-1",
        **extra,
    }


def run(records, lambda_context) -> dict:
    return schedule_shipment.handler({"Records": records}, lambda_context)


def test_schedules_shipment_tells_the_saga_and_publishes(
    repository: ShipmentsRepository, bus: BusSpy, step_functions, make_sqs_record, lambda_context
):
    # When a shipment request arrives
    response = run([make_sqs_record(request())], lambda_context)
    # Then the batch succeeds, the shipment is stored and the saga gets its output
    assert response == {"batchItemFailures": []}
    shipment = repository.get_shipment("order-1")
    assert shipment is not None
    assert (shipment.shipment_id, shipment.status, shipment.task_notified) == (
        shipment_id_for("order-1"),
        "SCHEDULED",
        True,
    )
    assert step_functions.successes == [
        (
            "token-1",
            {"orderId": "order-1", "shipmentId": shipment.shipment_id, "status": "SCHEDULED"},
        )
    ]
    # And ShipmentScheduled is on the bus, threaded to the flow
    [event] = [from_eventbridge(delivered) for delivered in bus.delivered()]
    assert (event.type, event.source, event.correlationid, event.causationid) == (
        "ShipmentScheduled",
        "orderflow.shipping",
        "corr-1",
        "placed-1",
    )
    assert event.data["lines"] == [{"sku": "SKU-MUG-001", "quantity": 2}]


def test_redelivered_request_creates_one_shipment_and_notifies_once(
    repository: ShipmentsRepository, bus: BusSpy, step_functions, make_sqs_record, lambda_context
):
    run([make_sqs_record(request())], lambda_context)
    run([make_sqs_record(request())], lambda_context)
    assert len(step_functions.successes) == 1
    assert repository.get_shipment("order-1") is not None
    first, second = (from_eventbridge(event) for event in bus.delivered())
    assert first.id == second.id  # published again with one id: consumers keep one


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        {"orderId": "order-2", "items": [{"sku": "SKU-MUG-001", "quantity": 1}]},  # no token
        {**request("order-2"), "items": []},
        {**request("order-2"), "items": [{"sku": "SKU-MUG-001", "quantity": 0}]},
    ],
)
@pytest.mark.usefixtures("bus")
def test_malformed_message_fails_only_its_record(
    repository, step_functions, make_sqs_record, lambda_context, body
):
    # Given a batch with a good request and a malformed one
    good = make_sqs_record(request("order-1"))
    bad = make_sqs_record(body, message_id="bad-message")
    # When it is processed
    response = run([good, bad], lambda_context)
    # Then only the malformed message goes back to the queue (towards the DLQ)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-message"}]}
    assert [token for token, _ in step_functions.successes] == ["token-1"]
    assert repository.get_shipment("order-2") is None


def test_a_batch_of_only_malformed_messages_is_reported_not_raised(
    repository, step_functions, make_sqs_record, lambda_context
):
    response = run([make_sqs_record("{}", message_id="m1")], lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_saga_that_stopped_waiting_consumes_the_message_quietly(
    repository, bus: BusSpy, step_functions, make_sqs_record, lambda_context
):
    step_functions.error_code = "TaskTimedOut"
    assert run([make_sqs_record(request())], lambda_context) == {"batchItemFailures": []}
    # The shipment was stored and reported before the saga could be told: a fact stands
    assert bus.detail_types() == ["ShipmentScheduled"]
    shipment = repository.get_shipment("order-1")
    assert shipment is not None
    assert not shipment.task_notified


@pytest.mark.parametrize("code", ["InvalidToken", "ThrottlingException"])
@pytest.mark.usefixtures("repository")
def test_invalid_token_or_throttling_fails_the_record(
    bus: BusSpy, step_functions, make_sqs_record, lambda_context, code
):
    step_functions.error_code = code
    response = run([make_sqs_record(request(), message_id="m1")], lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    # When SQS redelivers it and the saga answers this time
    step_functions.error_code = None
    assert run([make_sqs_record(request())], lambda_context) == {"batchItemFailures": []}
    # Then the event went out twice with one id (consumers keep one), and the saga was told once
    first, second = (from_eventbridge(event) for event in bus.delivered())
    assert first.id == second.id
    assert len(step_functions.successes) == 1


@pytest.mark.usefixtures("repository")
def test_the_saga_is_told_only_after_shipment_scheduled_is_on_the_bus(
    bus: BusSpy, step_functions, make_sqs_record, lambda_context, monkeypatch
):
    # Given EventBridge refuses ShipmentScheduled
    with monkeypatch.context() as patch:
        fail_put_events(patch)
        response = run([make_sqs_record(request(), message_id="m1")], lambda_context)
    # Then the record fails and the saga is not told: it cannot move on (ConfirmOrder) before
    # the event that reports this step exists
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert step_functions.successes == []
    # When SQS redelivers the message
    assert run([make_sqs_record(request())], lambda_context) == {"batchItemFailures": []}
    # Then the event got out and the saga was told once
    assert len(step_functions.successes) == 1
    assert bus.detail_types() == ["ShipmentScheduled"]


def test_works_with_the_real_boto3_step_functions_client(
    repository, bus: BusSpy, make_sqs_record, lambda_context
):
    # moto accepts any token: this checks the boto3 call shape end to end
    assert run([make_sqs_record(request())], lambda_context) == {"batchItemFailures": []}
    assert bus.detail_types() == ["ShipmentScheduled"]
