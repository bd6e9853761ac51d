"""AWS FIS offline, the faults in the functions' SDK calls (``orderflow:dynamodb:throttle``,
``orderflow:events:put-events-partial-failure``): their parameters (fis/model.py), what the
board sends down with an invocation and counts back (fis/faults.py), and what the hooks do to a
real botocore client (sdk_faults.py). The executor and a deployed function: the integration
tests (tests/integration/test_fis.py)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from orderflow_hostexec import sdk_faults
from orderflow_hostexec.fis import faults, model
from orderflow_hostexec.fis.model import FisValidationError

THROTTLE = "orderflow:dynamodb:throttle"
PARTIAL = "orderflow:events:put-events-partial-failure"
FN = "arn:aws:lambda:us-east-1:000000000000:function:f0"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a request that got sent would fail to connect


def test_throttle_parameters_parsed_with_operations_defaulting_to_all() -> None:
    every = model.parse_action("t", THROTTLE, {"duration": "PT1M", "requestPercentage": "10"})
    some = model.parse_action(
        "t",
        THROTTLE,
        {
            "duration": "PT1M",
            "requestPercentage": "100",
            "operations": " TransactWriteItems,PutItem ",
        },
    )

    assert (every.request_percentage, every.operations) == (10, ())
    assert (some.request_percentage, some.operations) == (100, ("PutItem", "TransactWriteItems"))


def test_partial_failure_parameters_parsed() -> None:
    parsed = model.parse_action("p", PARTIAL, {"duration": "PT30S", "entryPercentage": "50"})

    assert (parsed.duration_s, parsed.entry_percentage) == (30, 50)


@pytest.mark.parametrize(
    ("action_id", "parameters", "message"),
    [
        (THROTTLE, {"duration": "PT1M"}, "missing required parameter.*requestPercentage"),
        (THROTTLE, {"duration": "PT1M", "requestPercentage": "0"}, "requestPercentage.*1 to 100"),
        (THROTTLE, {"duration": "PT1M", "requestPercentage": "101"}, "requestPercentage"),
        (THROTTLE, {"duration": "PT1M", "requestPercentage": "ten"}, "requestPercentage"),
        (
            THROTTLE,
            {"duration": "PT1M", "requestPercentage": "5", "operations": "PutItem,Putitem"},
            "unknown DynamoDB operation.*Putitem.*known: BatchExecuteStatement",
        ),
        (
            THROTTLE,
            {"duration": "PT1M", "requestPercentage": "5", "operations": "DescribeTable"},
            "DescribeTable",
        ),
        (
            THROTTLE,
            {"duration": "PT1M", "requestPercentage": "5", "operations": "PutItem,"},
            "comma list of DynamoDB operations",
        ),
        (
            THROTTLE,
            {"duration": "PT1M", "requestPercentage": "5", "invocationPercentage": "5"},
            "unknown parameter.*invocationPercentage",
        ),
        (THROTTLE, {"duration": "1m", "requestPercentage": "5"}, "duration"),
        (PARTIAL, {"duration": "PT1M"}, "missing required parameter.*entryPercentage"),
        (PARTIAL, {"duration": "PT1M", "entryPercentage": "-3"}, "entryPercentage.*1 to 100"),
        (
            PARTIAL,
            {"duration": "PT1M", "entryPercentage": "5", "operations": "PutItem"},
            "unknown parameter.*operations",
        ),
    ],
)
def test_bad_parameters_are_refused_naming_them(
    action_id: str, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(FisValidationError, match=message):
        model.parse_action("fault", action_id, parameters)


def test_the_actions_target_functions_in_a_template() -> None:
    targets = {
        "fn": {
            "resourceType": "aws:lambda:function",
            "resourceTags": {"a": "b"},
            "selectionMode": "ALL",
        }
    }
    throttle = {"duration": "PT1M", "requestPercentage": "5"}
    model.validate_template(
        targets,
        {
            "t": {"actionId": THROTTLE, "parameters": throttle, "targets": {"Functions": "fn"}},
            "p": {
                "actionId": PARTIAL,
                "parameters": {"duration": "PT1M", "entryPercentage": "5"},
                "targets": {"Functions": "fn"},
            },
        },
        [{"source": "none"}],
    )
    with pytest.raises(FisValidationError, match="targets must be"):
        model.validate_template(
            targets,
            {"t": {"actionId": THROTTLE, "parameters": throttle, "targets": {"Tables": "fn"}}},
            [{"source": "none"}],
        )


def _active(action_id: str, seed: int = 1, **parameters: str) -> faults.ActiveAction:
    return faults.ActiveAction(
        experiment_id="EXP1",
        name="sdk",
        action_id=action_id,
        functions=frozenset({FN}),
        parameters=model.parse_action("sdk", action_id, {"duration": "PT1M"} | parameters),
        draw=model.Draw(seed),
        ends_at=100,
    )


def test_the_board_sends_sdk_faults_down_with_the_invocation_seeded_by_the_experiment() -> None:
    board, again = faults.FaultBoard(), faults.FaultBoard()
    for each in (board, again):
        each.add("EXP1", [_active(THROTTLE, requestPercentage="30", operations="PutItem,GetItem")])

    plans = [board.plan(FN, now=0) for _ in range(3)]

    sdk = plans[0].sdk[0]
    assert {key: sdk[key] for key in ("key", "kind", "percentage", "operations")} == {
        "key": "EXP1/sdk",
        "kind": sdk_faults.DYNAMODB_THROTTLE,
        "percentage": 30,
        "operations": ["GetItem", "PutItem"],
    }
    assert "EXP1" in sdk["source"]
    assert [p.sdk[0]["seed"] for p in plans] == [
        again.plan(FN, now=0).sdk[0]["seed"] for _ in plans
    ]
    assert len({p.sdk[0]["seed"] for p in plans}) == 3  # a draw of its own per invocation
    assert plans[0].before is None and plans[0].after is None and plans[0].delay_ms == 0
    assert board.counts("EXP1", "sdk") == (0, 0)  # counted by requests, not invocations
    assert board.plan("arn:other", now=0).sdk == []
    assert board.plan(FN, now=100).sdk == []  # its duration is over


def test_what_a_function_reports_is_counted_even_after_the_action_ended() -> None:
    board = faults.FaultBoard()
    board.add("EXP1", [_active(PARTIAL, entryPercentage="50")])

    board.record({"EXP1/sdk": [2, 5]})
    board.record({"EXP1/sdk": [1, 4]})
    assert board.counts("EXP1", "sdk") == (3, 9)
    board.remove("EXP1")
    board.record({"EXP1/sdk": [1, 1], "EXP9/gone": [1, 1]})

    assert board.counts("EXP1", "sdk") == (4, 10)
    assert board.report()["experiments"]["EXP1"]["sdk"]["injected"] == 4
    assert "EXP9" not in board.report()["experiments"]


def test_the_throttle_answer_is_dynamodb_s() -> None:
    status, headers, body = sdk_faults.throttle_response("REQ1")

    assert status == 400
    assert json.loads(body) == {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": sdk_faults.THROTTLE_MESSAGE,
    }
    assert headers["x-amz-crc32"] == str(zlib.crc32(body))
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["Content-Length"] == str(len(body))
    assert headers["x-amzn-RequestId"] == "REQ1"


def test_failed_entries_are_spliced_back_in_their_places() -> None:
    answered = [{"EventId": "a"}, {"EventId": "b"}, {"EventId": "c"}]

    entries = sdk_faults.splice_failures(answered, [0, 2], 5, "boom")

    assert entries == [
        {"ErrorCode": "InternalFailure", "ErrorMessage": "boom"},
        {"EventId": "a"},
        {"ErrorCode": "InternalFailure", "ErrorMessage": "boom"},
        {"EventId": "b"},
        {"EventId": "c"},
    ]


def _plan(kind: str, percentage: int, operations: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {
            "key": "EXP1/sdk",
            "kind": kind,
            "percentage": percentage,
            "operations": list(operations),
            "seed": 7,
            "source": "AWS FIS experiment EXP1, action sdk",
        }
    ]


@pytest.fixture
def disarm() -> Iterator[None]:
    yield
    sdk_faults.end()


def test_entries_are_drawn_per_entry_and_counted(disarm: None) -> None:
    assert sdk_faults.failed_entries(10) == ([], "")  # nothing armed

    sdk_faults.begin(_plan(sdk_faults.PUT_EVENTS_PARTIAL_FAILURE, 50))
    failed, message = sdk_faults.failed_entries(400)
    counts = sdk_faults.end()

    assert 140 < len(failed) < 260
    assert "EXP1, action sdk" in message
    assert counts == {"EXP1/sdk": [len(failed), 400]}
    sdk_faults.begin(_plan(sdk_faults.PUT_EVENTS_PARTIAL_FAILURE, 50))
    assert sdk_faults.failed_entries(400)[0] == failed  # the seed sent down fixes the draw


def _client(service: Any, hooks: dict[str, Any], **config: Any) -> Any:
    """A botocore client of a session of its own, with these hooks first."""
    session = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    client = session.client(service, endpoint_url=NOWHERE, config=Config(**config))
    for event, hook in hooks.items():
        client.meta.events.register_first(event, hook)
    return client


def test_a_throttled_request_is_retried_by_botocore_as_on_aws(disarm: None) -> None:
    dynamodb = _client(
        "dynamodb",
        {"before-send.dynamodb": sdk_faults._before_send_dynamodb},
        retries={"mode": "standard", "total_max_attempts": 3},
    )
    sdk_faults.begin(_plan(sdk_faults.DYNAMODB_THROTTLE, 100, ("PutItem",)))

    with pytest.raises(ClientError) as throttled:
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "1"}})
    with pytest.raises(Exception, match="Could not connect"):  # GetItem is not throttled: sent
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "1"}})

    error = throttled.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error["ResponseMetadata"]["RetryAttempts"] == 2
    assert isinstance(throttled.value, dynamodb.exceptions.ProvisionedThroughputExceededException)
    assert sdk_faults.end() == {"EXP1/sdk": [3, 3]}


def test_when_every_entry_fails_nothing_is_sent_and_all_are_reported(disarm: None) -> None:
    hooks = {
        f"{stage}.eventbridge.PutEvents": getattr(
            sdk_faults, f"_{stage.replace('-', '_')}_put_events"
        )
        for stage in ("before-parameter-build", "before-call", "after-call")
    }
    events = _client("events", hooks)
    entries = [{"Source": "s", "DetailType": "d", "Detail": json.dumps({"n": n})} for n in range(3)]
    sdk_faults.begin(_plan(sdk_faults.PUT_EVENTS_PARTIAL_FAILURE, 100))

    answer = events.put_events(Entries=entries)

    assert answer["FailedEntryCount"] == 3
    assert [entry["ErrorCode"] for entry in answer["Entries"]] == ["InternalFailure"] * 3
    assert len(entries) == 3  # the caller's list is left alone
    assert sdk_faults.end() == {"EXP1/sdk": [3, 3]}
    with pytest.raises(Exception, match="Could not connect"):  # disarmed: sent as is
        events.put_events(Entries=entries)
