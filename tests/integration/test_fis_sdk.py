"""AWS FIS offline, the faults of our own in the functions' SDK calls (offline only):
``orderflow:dynamodb:throttle`` on the functions' direct path to DynamoDB Local and
``orderflow:events:put-events-partial-failure``, applied inside a throwaway function's process
(orderflow_hostexec/sdk_faults.py) while an experiment started through boto3's ``fis`` client
runs, and counted per experiment and action."""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.clients import client, endpoint
from orderflow_hostexec.fis.faults import FAULTS_PATH
from tests.integration import test_fis as base
from tests.integration.support import eventually, invoke

THROTTLE = "orderflow:dynamodb:throttle"
PARTIAL_FAILURE = "orderflow:events:put-events-partial-failure"

fis = base.fis
experiments = base.experiments


def _tagged(lambda_client: Any, name: str) -> str:
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={base.TAG: name})
    return name


@pytest.fixture
def table(emulator: None) -> Iterator[str]:
    dynamodb = client("dynamodb")
    name = f"it-fis-{uuid.uuid4().hex[:10]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def writer(make_function: Callable[..., str], lambda_client: Any) -> str:
    """A throwaway function that puts an item and reads it back, targeted by tag."""
    return _tagged(lambda_client, make_function(handler="probe.put_item_retrying", timeout=10))


def _faults(experiment_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint()}{FAULTS_PATH}", timeout=10) as answer:
        counts: dict[str, Any] = json.load(answer)["experiments"][experiment_id]["fault"]
    return counts


def _reason(fis: Any, experiment_id: str) -> str:
    action = fis.get_experiment(id=experiment_id)["experiment"]["actions"]["fault"]
    reason: str = action["state"]["reason"]
    return reason


def _stored(table: str, pk: str) -> bool:
    key = {"pk": {"S": pk}}
    return "Item" in client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)


def test_a_throttled_put_item_fails_and_writes_nothing_when_the_sdk_does_not_retry(
    fis: Any, lambda_client: Any, writer: str, table: str, experiments: list[str]
) -> None:
    template_id = base._template(
        fis,
        writer,
        THROTTLE,
        {"duration": "PT30S", "requestPercentage": "100", "operations": "PutItem"},
    )
    experiment_id = base._start(fis, template_id, experiments)

    event = {"table": table, "pk": "a", "attempts": 1}
    invoked = lambda_client.invoke(FunctionName=writer, Payload=json.dumps(event), LogType="Tail")
    answer = json.loads(invoked["Payload"].read())

    # the function's client got DynamoDB's throttling error; its GetItem was not throttled
    assert answer == {
        "error": "ProvisionedThroughputExceededException",
        "retries": 0,
        "found": False,
    }
    assert not _stored(table, "a")
    assert _faults(experiment_id)["injected"] == 1
    assert "Faults injected: 1 of 1 DynamoDB requests." in _reason(fis, experiment_id)
    logs = base64.b64decode(invoked["LogResult"]).decode()
    assert f"AWS FIS SDK faults: {experiment_id}/fault (1 of 1)" in logs

    fis.stop_experiment(id=experiment_id)
    _, answer = invoke(lambda_client, writer, {"table": table, "pk": "b", "attempts": 1})
    assert answer == {"error": None, "retries": 0, "found": True}
    assert _stored(table, "b")


def test_the_sdk_retries_a_throttled_request_and_every_attempt_is_a_fault(
    fis: Any,
    *,
    lambda_client: Any,
    make_function: Callable[..., str],
    writer: str,
    table: str,
    experiments: list[str],
) -> None:
    bystander = make_function(handler="probe.put_item_retrying", timeout=10)  # not targeted
    template_id = base._template(
        fis,
        writer,
        THROTTLE,
        {"duration": "PT30S", "requestPercentage": "100", "operations": "PutItem,UpdateItem"},
    )
    experiment_id = base._start(fis, template_id, experiments)

    _, answer = invoke(lambda_client, writer, {"table": table, "pk": "a", "attempts": 4})
    _, untouched = invoke(lambda_client, bystander, {"table": table, "pk": "b", "attempts": 1})

    # botocore's retry handler retried the throttle 3 times: 4 attempts, 4 faults
    assert answer == {
        "error": "ProvisionedThroughputExceededException",
        "retries": 3,
        "found": False,
    }
    assert _faults(experiment_id)["injected"] == 4
    assert "Faults injected: 4 of 4 DynamoDB requests." in _reason(fis, experiment_id)
    assert untouched == {"error": None, "retries": 0, "found": True}


@pytest.fixture
def bus(emulator: None) -> Iterator[dict[str, str]]:
    """A throwaway bus whose rule sends every event of its own source to a queue."""
    events, sqs = client("events"), client("sqs")
    name = f"it-fis-{uuid.uuid4().hex[:10]}"
    events.create_event_bus(Name=name)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    try:
        yield {"bus": name, "source": name, "queue": queue}
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=["queue"])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)
        sqs.delete_queue(QueueUrl=queue)


@pytest.mark.parametrize("percentage", [100, 50])
def test_failed_put_events_entries_are_reported_and_never_reach_the_bus(
    fis: Any,
    *,
    lambda_client: Any,
    make_function: Callable[..., str],
    bus: dict[str, str],
    experiments: list[str],
    percentage: int,
) -> None:
    publisher = _tagged(lambda_client, make_function(handler="probe.put_events", timeout=10))
    template_id = base._template(
        fis,
        publisher,
        PARTIAL_FAILURE,
        {"duration": "PT30S", "entryPercentage": str(percentage)},
    )
    experiment_id = base._start(fis, template_id, experiments)

    _, answer = invoke(
        lambda_client, publisher, {"bus": bus["bus"], "source": bus["source"], "count": 10}
    )

    failed = {n for n, entry in enumerate(answer["Entries"]) if "ErrorCode" in entry}
    put = set(range(10)) - failed
    assert answer["FailedEntryCount"] == len(failed)
    assert (len(failed) == 10) if percentage == 100 else (0 < len(failed) < 10)
    for n, entry in enumerate(answer["Entries"]):
        if n in failed:
            assert entry["ErrorCode"] == "InternalFailure"
            assert experiment_id in entry["ErrorMessage"]
        else:
            assert entry["EventId"]
    assert _faults(experiment_id)["injected"] == len(failed)
    assert f"Faults injected: {len(failed)} of 10 PutEvents entries." in _reason(fis, experiment_id)

    # the entries put reach the queue, then a marker put after them; the failed ones never
    fis.stop_experiment(id=experiment_id)
    client("events").put_events(
        Entries=[
            {
                "EventBusName": bus["bus"],
                "Source": bus["source"],
                "DetailType": "probe",
                "Detail": json.dumps({"n": "marker"}),
            }
        ]
    )
    received: set[Any] = set()

    def everything_arrived() -> bool:
        messages = client("sqs").receive_message(
            QueueUrl=bus["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        received.update(json.loads(m["Body"])["detail"]["n"] for m in messages.get("Messages", []))
        return received >= put | {"marker"}

    eventually(everything_arrived, timeout_s=30, every_s=0.1)
    assert not received & failed


@pytest.mark.parametrize(
    ("action_id", "parameters", "culprit"),
    [
        (THROTTLE, {"duration": "PT1M", "requestPercentage": "0"}, "requestPercentage"),
        (THROTTLE, {"duration": "PT1M", "requestPercentage": "5", "operations": "Put"}, "Put"),
        (PARTIAL_FAILURE, {"duration": "PT1M"}, "entryPercentage"),
    ],
)
def test_templates_with_bad_parameters_are_refused_naming_them(
    fis: Any, writer: str, action_id: str, parameters: dict[str, str], culprit: str
) -> None:
    with pytest.raises(ClientError) as refused:
        base._template(fis, writer, action_id, parameters)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert culprit in refused.value.response["Error"]["Message"]
