"""FIS duplicate deliveries, the pure parts (emulator/hostexec/orderflow_hostexec/fis/
duplicates.py and the actions in model.py): parameter validation, which messages and events
are delivered again, and how they are counted. The patches are tested on the emulator
(tests/integration/test_fis_duplicates.py)."""

from __future__ import annotations

from typing import Any

import pytest

from orderflow_hostexec import registry
from orderflow_hostexec.fis import duplicates, faults, model
from orderflow_hostexec.fis.model import FisValidationError

SQS = "orderflow:sqs:duplicate-delivery"
EVENTS = "orderflow:events:duplicate-delivery"
FN = "arn:aws:lambda:us-east-1:000000000000:function:consumer"
TARGETS = {
    "fn": {"resourceType": "aws:lambda:function", "resourceArns": [FN], "selectionMode": "ALL"}
}


def _validate(action: dict[str, Any], targets: dict[str, Any] | None = None) -> None:
    model.validate_template(
        TARGETS if targets is None else targets, {"dup": action}, [{"source": "none"}]
    )


def test_good_templates_are_accepted_with_deliveries_at_100_percent_by_default() -> None:
    _validate(
        {
            "actionId": SQS,
            "parameters": {"duration": "PT1M", "deliveryPercentage": "30"},
            "targets": {"Functions": "fn"},
        }
    )
    _validate({"actionId": EVENTS, "parameters": {"duration": "PT30S"}}, targets={})

    assert model.parse_action("dup", SQS, {"duration": "PT1M"}).delivery_percentage == 100
    events = model.parse_action("dup", EVENTS, {"duration": "PT1M", "deliveryPercentage": "1"})
    assert (events.duration_s, events.delivery_percentage) == (60, 1)


@pytest.mark.parametrize("action_id", [SQS, EVENTS])
@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"duration": "PT1M", "deliveryPercentage": "0"},
            "action dup: parameter deliveryPercentage must be an integer from 1 to 100, got '0'",
        ),
        (
            {"duration": "PT1M", "deliveryPercentage": "101"},
            "deliveryPercentage must be an integer from 1 to 100, got '101'",
        ),
        (
            {"duration": "PT1M", "deliveryPercentage": "half"},
            "deliveryPercentage must be an integer from 1 to 100, got 'half'",
        ),
        (
            {"duration": "PT1M", "invocationPercentage": "50"},
            "unknown parameter(s) invocationPercentage",
        ),
        ({"deliveryPercentage": "50"}, "missing required parameter(s) duration"),
        ({"duration": "PT13H"}, "duration must be more than 0 and at most PT12H"),
    ],
)
def test_bad_parameters_are_refused_naming_them(
    action_id: str, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(FisValidationError) as refused:
        model.parse_action("dup", action_id, parameters)

    assert message in str(refused.value)


def test_sqs_duplicates_target_functions_and_event_duplicates_take_no_targets() -> None:
    with pytest.raises(FisValidationError, match=r"targets must be \{'Functions': <target>\}"):
        _validate({"actionId": SQS, "parameters": {"duration": "PT1M"}})
    with pytest.raises(FisValidationError, match="takes no targets"):
        _validate(
            {
                "actionId": EVENTS,
                "parameters": {"duration": "PT1M"},
                "targets": {"Functions": "fn"},
            }
        )


def _action(
    action_id: str = SQS, percentage: int = 100, ends_at: float = 100.0, seed: int = 1
) -> duplicates.DuplicateDelivery:
    action = duplicates.active_action(
        experiment_id="EXP1",
        name="dup",
        action_id=action_id,
        functions=frozenset({FN}),
        parameters=model.parse_action(
            "dup", action_id, {"duration": "PT1M", "deliveryPercentage": str(percentage)}
        ),
        draw=model.Draw(seed),
        ends_at=ends_at,
        account="000000000000",
        region="us-east-1",
    )
    assert isinstance(action, duplicates.DuplicateDelivery)
    return action


def test_every_processed_message_of_a_drawn_batch_is_delivered_once_more() -> None:
    action = _action()

    action.delivered(["m1", "m2", "m3"])
    again = action.redeliver({"m1", "m2"})  # m3 failed: not deleted, retried later

    assert again == {"m1", "m2"}
    assert (action.injected, action.seen) == (2, 3)
    # the duplicates come back in a later batch with m3's retry: m3 is delivered again once
    # it succeeds, the duplicates are not duplicated again
    action.delivered(["m1", "m2", "m3"])
    assert action.redeliver({"m1", "m2", "m3"}) == {"m3"}
    assert (action.injected, action.seen) == (3, 6)
    action.delivered(["m3"])
    assert action.redeliver({"m3"}) == set()


def test_messages_of_batches_not_drawn_are_deleted_as_usual() -> None:
    action = _action(percentage=40, seed=5)
    redelivered = 0

    for batch in range(500):
        ids = [f"m{batch}-{i}" for i in range(2)]
        action.delivered(ids)
        again = action.redeliver(ids)
        assert again in (set(), set(ids))  # the draw is per batch
        redelivered += len(again)

    assert action.seen == 1000
    assert action.injected == redelivered
    assert 300 < redelivered < 500
    assert action.redeliver({"never-delivered"}) == set()


def test_a_drawn_event_is_delivered_twice_and_counted() -> None:
    action = _action(EVENTS, percentage=50, seed=3)

    drawn = [action.duplicates_event() for _ in range(200)]

    assert (action.injected, action.seen) == (sum(drawn), 200)
    assert 60 < sum(drawn) < 140
    assert action.covers("000000000000", "us-east-1")
    assert not action.covers("111111111111", "us-east-1")
    assert duplicates.reason(EVENTS, 3, 4) == "Duplicates injected: 3 of 4 events delivered."
    assert duplicates.reason(SQS, 1, 2) == "Duplicates injected: 1 of 2 messages delivered."


def test_duplicate_actions_run_on_the_board_but_never_touch_an_invocation() -> None:
    board = faults.FaultBoard()
    action = _action(ends_at=10)
    board.add("EXP1", [action])

    assert board.running(SQS, now=1) == [action]
    assert board.running(EVENTS, now=1) == []
    assert board.running(SQS, now=10) == []  # its duration is over
    assert board.plan(FN, now=1).actions == []  # the executor's plan ignores it
    assert action.consumers == frozenset({FN}) and action.functions == frozenset()

    action.delivered(["m1"])
    action.redeliver({"m1"})
    board.remove("EXP1")
    assert board.running(SQS, now=1) == []
    assert board.report()["experiments"]["EXP1"]["dup"] == {
        "injected": 1,
        "invocations": 1,
        "active": False,
    }


def test_other_actions_stay_plain_active_actions() -> None:
    action = duplicates.active_action(
        experiment_id="EXP1",
        name="err",
        action_id="aws:lambda:invocation-error",
        functions=frozenset({FN}),
        parameters=model.parse_action("err", "aws:lambda:invocation-error", {"duration": "PT1M"}),
        draw=model.Draw(1),
        ends_at=10,
        account="000000000000",
        region="us-east-1",
    )

    assert type(action) is faults.ActiveAction
    assert action.functions == frozenset({FN})


def test_qualified_consumers_are_matched_by_their_function() -> None:
    assert duplicates.unqualified(f"{FN}:live") == FN
    assert duplicates.unqualified(FN) == FN


def test_the_duplicate_patches_are_applied_after_the_rule_target_retry_patch() -> None:
    names = [patch.name for patch in registry.ALL]

    assert names.index("fis.events-duplicate-delivery") > names.index("events.target-retry-and-dlq")
    assert {patch.kind for patch in registry.FIS_DELIVERY_FAULTS} == {"kit"}
    assert {patch.name for patch in registry.FIS_DELIVERY_FAULTS} == {
        "fis.sqs-duplicate-delivery",
        "fis.events-duplicate-delivery",
    }
