"""FIS duplicate deliveries offline (emulator/hostexec/orderflow_hostexec/fis/duplicates.py):
``orderflow:sqs:duplicate-delivery`` and ``orderflow:events:duplicate-delivery`` started with
boto3's ``fis`` client against the emulator, on throwaway queues, functions, buses and rules.
Parameter validation is unit-tested (tests/unit/emulator/test_fis_duplicates.py)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.clients import client
from tests.integration import test_fis as base
from tests.integration.support import eventually

ROLE = base.ROLE
TAG = base.TAG
ACCOUNT_REGION = "us-east-1:000000000000"

fis = base.fis
experiments = base.experiments


@pytest.fixture(scope="module")
def sqs(emulator: None) -> Any:
    return client("sqs")


@pytest.fixture
def queues(sqs: Any) -> Iterator[Callable[..., tuple[str, str]]]:
    """Throwaway queues (url, arn), deleted after the test."""
    made: list[str] = []
    prefix = f"it-dup-{uuid.uuid4().hex[:10]}"

    def make(name: str, visibility_timeout: int = 30) -> tuple[str, str]:
        url = sqs.create_queue(
            QueueName=f"{prefix}-{name}",
            Attributes={"VisibilityTimeout": str(visibility_timeout)},
        )["QueueUrl"]
        made.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    yield make
    for url in made:
        sqs.delete_queue(QueueUrl=url)


def _start(
    fis: Any,
    experiments: list[str],
    action_id: str,
    targets: dict[str, Any],
    action_targets: dict[str, str],
) -> str:
    template_id = fis.create_experiment_template(
        clientToken=uuid.uuid4().hex,
        description=f"fis-it {action_id}",
        roleArn=ROLE,
        stopConditions=[{"source": "none"}],
        targets=targets,
        actions={
            "dup": {
                "actionId": action_id,
                "parameters": {"duration": "PT60S", "deliveryPercentage": "100"},
                "targets": action_targets,
            }
        },
        tags={"orderflow:seed": "11"},
    )["experimentTemplate"]["id"]
    return base._start(fis, template_id, experiments)


def _stop(fis: Any, experiment_id: str) -> None:
    fis.stop_experiment(id=experiment_id)
    eventually(lambda: base._status(fis, experiment_id) == "stopped", timeout_s=10, every_s=0.1)


def _reason(fis: Any, experiment_id: str) -> str:
    reason: str = fis.get_experiment(id=experiment_id)["experiment"]["actions"]["dup"]["state"][
        "reason"
    ]
    return reason


def _read(sqs: Any, url: str, into: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every message now visible in ``url``, bodies decoded, appended to ``into`` (deleted)."""
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            into.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return into


def _empty(sqs: Any, url: str) -> bool:
    """No message left in ``url``: none visible, none in flight (deleted, not to come back)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return set(attributes.values()) == {"0"}


@dataclass(frozen=True)
class Consumer:
    """A queue (``work``) whose event source mapping feeds ``function``, which reports every
    record it is handed to ``results``; ``experiment`` duplicates its deliveries at 100%."""

    work: str
    results: str
    experiment: str


@pytest.fixture
def consumer(
    fis: Any,
    lambda_client: Any,
    make_function: Callable[..., str],
    queues: Callable[..., tuple[str, str]],
    experiments: list[str],
) -> Iterator[Callable[[int], Consumer]]:
    mappings: list[str] = []

    def make(visibility_timeout: int) -> Consumer:
        work, work_arn = queues("work", visibility_timeout)
        results, _ = queues("results")
        function = make_function("probe.record_deliveries", timeout=10)
        arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        lambda_client.tag_resource(Resource=arn, Tags={TAG: function})
        mapping = lambda_client.create_event_source_mapping(
            EventSourceArn=work_arn,
            FunctionName=function,
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )["UUID"]
        mappings.append(mapping)
        eventually(
            lambda: lambda_client.get_event_source_mapping(UUID=mapping)["State"] == "Enabled",
            timeout_s=30,
        )
        experiment_id = _start(
            fis,
            experiments,
            "orderflow:sqs:duplicate-delivery",
            {
                "fn": {
                    "resourceType": "aws:lambda:function",
                    "resourceTags": {TAG: function},
                    "selectionMode": "ALL",
                }
            },
            {"Functions": "fn"},
        )
        return Consumer(work, results, experiment_id)

    yield make
    for mapping in mappings:
        lambda_client.delete_event_source_mapping(UUID=mapping)


def _deliveries(sqs: Any, consumer: Consumer) -> Callable[[str, int], list[dict[str, Any]] | None]:
    """``delivered(tag, n)``: the reports of the message tagged ``tag`` once there are ``n``
    and the work queue is empty (every message deleted: none is to come back)."""
    reports: list[dict[str, Any]] = []

    def delivered(tag: str, times: int) -> list[dict[str, Any]] | None:
        _read(sqs, consumer.results, reports)
        mine = [r for r in reports if r["tag"] == tag]
        return mine if len(mine) >= times and _empty(sqs, consumer.work) else None

    return delivered


def _send(sqs: Any, consumer: Consumer, tag: str, **body: Any) -> str:
    message = {"results": consumer.results, "tag": tag, **body}
    message_id: str = sqs.send_message(QueueUrl=consumer.work, MessageBody=json.dumps(message))[
        "MessageId"
    ]
    return message_id


def test_an_sqs_message_is_delivered_again_after_it_was_processed_until_the_stop(
    fis: Any, sqs: Any, consumer: Callable[[int], Consumer]
) -> None:
    # Given a consumer whose deliveries are duplicated at 100%
    duplicated = consumer(30)
    delivered = _deliveries(sqs, duplicated)

    # When one message is sent
    sent = _send(sqs, duplicated, "during")

    # Then it is processed twice, the same message received again, then deleted
    during = eventually(lambda: delivered("during", 2), timeout_s=30)
    assert [(r["messageId"], r["receiveCount"]) for r in during] == [(sent, "1"), (sent, "2")]
    counted = "Duplicates injected: 1 of 2 messages delivered."
    assert counted in _reason(fis, duplicated.experiment)

    # And after the experiment is stopped, a message is processed once
    _stop(fis, duplicated.experiment)
    _send(sqs, duplicated, "after")
    after = eventually(lambda: delivered("after", 1), timeout_s=30)
    assert [r["receiveCount"] for r in after] == ["1"]
    assert counted in _reason(fis, duplicated.experiment)  # nothing counted after the stop


def test_a_message_that_failed_is_retried_then_duplicated_after_it_succeeds(
    fis: Any, sqs: Any, consumer: Callable[[int], Consumer]
) -> None:
    # Given a consumer whose deliveries are duplicated at 100%, on a queue that makes a failed
    # message visible again after 1 s
    duplicated = consumer(1)
    delivered = _deliveries(sqs, duplicated)

    # When a message that fails its first delivery is sent
    sent = _send(sqs, duplicated, "flaky", failFirst=True)

    # Then it is retried (SQS's redelivery), succeeds, and is delivered once more after that
    deliveries = eventually(lambda: delivered("flaky", 3), timeout_s=30)
    assert [(r["messageId"], r["receiveCount"]) for r in deliveries] == [
        (sent, "1"),
        (sent, "2"),
        (sent, "3"),
    ]
    assert "Duplicates injected: 1 of 3 messages delivered." in _reason(fis, duplicated.experiment)


def test_an_event_is_delivered_twice_to_each_rule_target_with_its_dlq_until_the_stop(
    fis: Any,
    sqs: Any,
    queues: Callable[..., tuple[str, str]],
    experiments: list[str],
) -> None:
    # Given a bus with a rule whose targets are, in order: a queue, a queue that does not exist
    # (dead-lettered to its DLQ by the kit's retry/DLQ patch), and a last queue
    events = client("events")
    name = f"it-dup-{uuid.uuid4().hex[:10]}"
    target, target_arn = queues("target")
    dlq, dlq_arn = queues("dlq")
    last, last_arn = queues("last")
    events.create_event_bus(Name=name)
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(
        Rule=name,
        EventBusName=name,
        Targets=[
            {"Id": "target", "Arn": target_arn},
            {
                "Id": "missing",
                "Arn": f"arn:aws:sqs:{ACCOUNT_REGION}:{name}-missing",
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": dlq_arn},
            },
            {"Id": "last", "Arn": last_arn},
        ],
    )

    def put(tag: str) -> str:
        answer = events.put_events(
            Entries=[{"EventBusName": name, "Source": name, "DetailType": tag, "Detail": "{}"}]
        )
        event_id: str = answer["Entries"][0]["EventId"]
        return event_id

    received: dict[str, list[dict[str, Any]]] = {target: [], dlq: [], last: []}

    def copies(url: str, event_id: str, times: int) -> list[dict[str, Any]] | None:
        mine = [e for e in _read(sqs, url, received[url]) if e["id"] == event_id]
        return mine if len(mine) >= times else None

    try:
        # And an experiment duplicating rule deliveries at 100% (no targets: every rule)
        experiment_id = _start(fis, experiments, "orderflow:events:duplicate-delivery", {}, {})

        # When one event is put on the bus
        during = put("during")

        # Then each target gets it twice, the same event; the missing queue's two copies are
        # dead-lettered, each on its own, with EventBridge's attributes
        assert len(eventually(lambda: copies(target, during, 2), timeout_s=30)) == 2
        assert len(eventually(lambda: copies(dlq, during, 2), timeout_s=30)) == 2
        assert len(eventually(lambda: copies(last, during, 2), timeout_s=30)) == 2
        counted = re.search(
            r"Duplicates injected: (\d+) of (\d+) events delivered\.", _reason(fis, experiment_id)
        )
        assert counted is not None
        injected, seen = int(counted[1]), int(counted[2])
        assert injected == seen >= 3  # the app's schedule rules may have fired meanwhile

        # And after the experiment is stopped, an event reaches each target once: once the last
        # target has it, the earlier ones have had every copy they were sent
        _stop(fis, experiment_id)
        stopped = _reason(fis, experiment_id)
        after = put("after")
        eventually(lambda: copies(last, after, 1), timeout_s=30)
        assert len(copies(target, after, 1) or []) == 1
        assert len(copies(dlq, after, 1) or []) == 1  # dead-lettered before 'last' was sent to
        assert len(copies(last, after, 1) or []) == 1
        assert _reason(fis, experiment_id) == stopped  # nothing counted after the stop
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=["target", "missing", "last"])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)


def test_a_duplicated_event_starts_a_second_execution_of_a_state_machine_target(
    fis: Any, experiments: list[str]
) -> None:
    # Given a bus with a rule whose target is a state machine (the saga's wiring), and an
    # experiment duplicating rule deliveries at 100%
    events, sfn = client("events"), client("stepfunctions")
    name = f"it-dup-sfn-{uuid.uuid4().hex[:10]}"
    machine = sfn.create_state_machine(
        name=name,
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    events.create_event_bus(Name=name)
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(
        Rule=name, EventBusName=name, Targets=[{"Id": "saga", "Arn": machine, "RoleArn": ROLE}]
    )

    def executions(times: int) -> list[dict[str, Any]] | None:
        found = sfn.list_executions(stateMachineArn=machine)["executions"]
        return found if len(found) >= times else None

    try:
        _start(fis, experiments, "orderflow:events:duplicate-delivery", {}, {})

        # When one event is put on the bus
        event_id = events.put_events(
            Entries=[{"EventBusName": name, "Source": name, "DetailType": "x", "Detail": "{}"}]
        )["Entries"][0]["EventId"]

        # Then it starts two executions, each under a name of its own (EventBridge generates
        # them; LocalStack named both after the event id and folded them into one), with the
        # same event as input: the workflow has to guard itself, as the saga does
        started = eventually(lambda: executions(2), timeout_s=30)
        names = {execution["name"] for execution in started}
        assert len(started) == 2 and len(names) == 2 and event_id not in names
        inputs = [
            json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["id"]
            for e in started
        ]
        assert inputs == [event_id, event_id]
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=["saga"])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)
        sfn.delete_state_machine(stateMachineArn=machine)


def test_duplicate_delivery_templates_are_validated(fis: Any) -> None:
    def create(action: dict[str, Any], targets: dict[str, Any] | None = None) -> str:
        with pytest.raises(ClientError) as refused:
            fis.create_experiment_template(
                clientToken=uuid.uuid4().hex,
                description="fis-it invalid",
                roleArn=ROLE,
                stopConditions=[{"source": "none"}],
                targets=targets or {},
                actions={"dup": action},
            )
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        message: str = refused.value.response["Error"]["Message"]
        return message

    bad_percentage = create(
        {
            "actionId": "orderflow:events:duplicate-delivery",
            "parameters": {"duration": "PT1M", "deliveryPercentage": "150"},
        }
    )
    assert "deliveryPercentage must be an integer from 1 to 100, got '150'" in bad_percentage

    no_functions = create(
        {"actionId": "orderflow:sqs:duplicate-delivery", "parameters": {"duration": "PT1M"}}
    )
    assert "targets must be {'Functions': <target>}" in no_functions
