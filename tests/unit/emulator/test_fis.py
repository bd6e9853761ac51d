"""AWS FIS offline, the pure parts (emulator/hostexec/orderflow_hostexec/fis/model.py and
faults.py): template validation, durations, target selection, the seeded draw, and what the
running faults do to an invocation. The API and the executor are tested on the emulator
(tests/integration/test_fis.py)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from orderflow_hostexec import registry
from orderflow_hostexec.fis import faults, model, parameters
from orderflow_hostexec.fis.model import FisValidationError

LAMBDA = "aws:lambda:function"


def _target(**fields: Any) -> dict[str, Any]:
    return {"resourceType": LAMBDA, "selectionMode": "ALL"} | fields


def _action(action_id: str, **parameters: str) -> dict[str, Any]:
    return {"actionId": action_id, "parameters": parameters, "targets": {"Functions": "fn"}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT1M", 60), ("PT30S", 30), ("PT1H30M", 5400), ("PT0.5S", 0.5), ("PT12H", 43200)],
)
def test_durations_are_iso_8601(text: str, seconds: float) -> None:
    assert model.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1m", "PT", "P1D", "PT0S", "PT13H", "", 60, None])
def test_bad_durations_are_refused_saying_what_is_expected(text: Any) -> None:
    with pytest.raises(FisValidationError, match="duration"):
        model.parse_duration(text)


def test_an_unknown_action_id_is_named() -> None:
    with pytest.raises(FisValidationError, match="aws:lambda:invocation-nonsense"):
        model.validate_template(
            {"fn": _target(resourceTags={"a": "b"})},
            {"x": _action("aws:lambda:invocation-nonsense", duration="PT1M")},
            [{"source": "none"}],
        )


@pytest.mark.parametrize(
    ("parameters", "culprit"),
    [
        ({"duration": "PT1M", "invocationPercentage": "0"}, "invocationPercentage"),
        ({"duration": "PT1M", "invocationPercentage": "101"}, "invocationPercentage"),
        ({"duration": "PT1M", "invocationPercentage": "half"}, "invocationPercentage"),
        ({"duration": "PT1M", "preventExecution": "yes"}, "preventExecution"),
        ({"duration": "PT1M", "colour": "red"}, "colour"),
        ({"invocationPercentage": "50"}, "duration"),
    ],
)
def test_action_parameters_are_checked(parameters: dict[str, str], culprit: str) -> None:
    with pytest.raises(FisValidationError, match=culprit):
        model.parse_action("x", "aws:lambda:invocation-error", parameters)


def test_action_defaults_are_those_of_fis() -> None:
    error = model.parse_action("x", "aws:lambda:invocation-error", {"duration": "PT1M"})
    delay = model.parse_action("x", "aws:lambda:invocation-add-delay", {"duration": "PT1M"})

    assert (error.invocation_percentage, error.prevent_execution) == (100, False)
    assert delay.startup_delay_ms == 1000


def test_http_response_needs_a_status_and_a_content_type() -> None:
    with pytest.raises(FisValidationError, match="contentTypeHeader, statusCode"):
        model.parse_action(
            "x", "aws:lambda:invocation-http-integration-response", {"duration": "PT1M"}
        )


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"fn": _target(resourceType="aws:ec2:instance", resourceTags={"a": "b"})}, "resourceType"),
        ({"fn": _target()}, "exactly one of resourceArns and resourceTags"),
        ({"fn": _target(resourceTags={"a": "b"}, selectionMode="SOME")}, "selectionMode"),
        ({"fn": _target(resourceTags={"a": "b"}, selectionMode="PERCENT(0)")}, "PERCENT"),
        ({"other": _target(resourceTags={"a": "b"})}, "'fn' is not defined"),
    ],
)
def test_targets_are_checked(targets: dict[str, Any], message: str) -> None:
    with pytest.raises(FisValidationError, match=message):
        model.validate_template(
            targets,
            {"x": _action("aws:lambda:invocation-error", duration="PT1M")},
            [{"source": "none"}],
        )


def test_only_the_none_stop_condition_is_accepted() -> None:
    targets = {"fn": _target(resourceTags={"a": "b"})}
    actions = {"x": _action("aws:lambda:invocation-error", duration="PT1M")}

    model.validate_template(targets, actions, [{"source": "none"}])
    with pytest.raises(FisValidationError, match="aws:cloudwatch:alarm"):
        model.validate_template(
            targets, actions, [{"source": "aws:cloudwatch:alarm", "value": "arn:alarm"}]
        )


CANDIDATES = {
    f"arn:aws:lambda:us-east-1:000000000000:function:f{i}": {"team": "orders" if i < 4 else "x"}
    for i in range(6)
}


def test_targets_by_tags_take_every_function_carrying_them() -> None:
    selected = model.select_targets(
        CANDIDATES, _target(resourceTags={"team": "orders"}), random.Random(1)
    )

    assert [arn.rsplit(":", 1)[-1] for arn in selected] == ["f0", "f1", "f2", "f3"]


@pytest.mark.parametrize(
    ("mode", "count"), [("COUNT(2)", 2), ("COUNT(9)", 4), ("PERCENT(50)", 2), ("PERCENT(10)", 1)]
)
def test_selection_modes_pick_that_many_at_random(mode: str, count: int) -> None:
    target = _target(resourceTags={"team": "orders"}, selectionMode=mode)

    first = model.select_targets(CANDIDATES, target, random.Random(3))

    assert len(first) == count
    assert all(CANDIDATES[arn]["team"] == "orders" for arn in first)
    assert model.select_targets(CANDIDATES, target, random.Random(3)) == first  # seeded


def test_targets_by_arn_must_exist_and_a_target_must_resolve() -> None:
    with pytest.raises(FisValidationError, match="not found: arn:nope"):
        model.select_targets(CANDIDATES, _target(resourceArns=["arn:nope"]), random.Random(1))
    with pytest.raises(FisValidationError, match="no resources"):
        model.select_targets(CANDIDATES, _target(resourceTags={"team": "none"}), random.Random(1))


def test_the_draw_hits_about_the_percentage_and_repeats_with_its_seed() -> None:
    draw, again = model.Draw(42), model.Draw(42)

    hits = [draw.hits(30) for _ in range(2000)]

    assert hits == [again.hits(30) for _ in range(2000)]
    assert 500 < sum(hits) < 700
    assert all(model.Draw(1).hits(100) for _ in range(50))


def test_the_seed_comes_from_the_experiment_then_the_template() -> None:
    assert model.seed_from({"orderflow:seed": "5"}, {"orderflow:seed": "9"}) == 5
    assert model.seed_from({}, {"orderflow:seed": "9"}) == 9
    assert model.seed_from(None, {}) is None
    with pytest.raises(FisValidationError, match="orderflow:seed"):
        model.seed_from({"orderflow:seed": "abc"})


FN = "arn:aws:lambda:us-east-1:000000000000:function:f0"


def _active(
    action_id: str, percentage: int = 100, ends_at: float = 100.0, **parameters: str
) -> faults.ActiveAction:
    return faults.ActiveAction(
        experiment_id="EXP1",
        name="fault",
        action_id=action_id,
        functions=frozenset({FN}),
        parameters=model.parse_action(
            "fault",
            action_id,
            {"duration": "PT1M", "invocationPercentage": str(percentage)} | parameters,
        ),
        draw=model.Draw(1),
        ends_at=ends_at,
    )


def test_an_error_before_or_after_the_handler() -> None:
    board = faults.FaultBoard()
    board.add("EXP1", [_active("aws:lambda:invocation-error", preventExecution="true")])

    plan = board.plan(FN, now=0)

    assert plan.before is not None and plan.after is None
    body, is_error = plan.before
    assert is_error and json.loads(body)["errorType"] == "FaultInjected"

    board.add("EXP1", [_active("aws:lambda:invocation-error", preventExecution="false")])
    assert board.plan(FN, now=0).after is not None


def test_delays_and_http_responses() -> None:
    board = faults.FaultBoard()
    board.add(
        "EXP1",
        [
            _active("aws:lambda:invocation-add-delay", startupDelayMilliseconds="250"),
            _active(
                "aws:lambda:invocation-http-integration-response",
                statusCode="503",
                contentTypeHeader="text/plain",
                preventExecution="true",
            ),
        ],
    )

    plan = board.plan(FN, now=0)

    assert plan.delay_ms == 250
    assert plan.before is not None
    body, is_error = plan.before
    assert not is_error
    assert json.loads(body)["statusCode"] == 503
    assert json.loads(body)["headers"] == {"Content-Type": "text/plain"}


def test_faults_touch_only_their_functions_while_they_run_and_are_counted() -> None:
    board = faults.FaultBoard()
    board.add("EXP1", [_active("aws:lambda:invocation-error", percentage=50, ends_at=10)])

    plans = [board.plan(FN, now=1) for _ in range(200)]

    injected = sum(plan.before is not None or plan.after is not None for plan in plans)
    assert 60 < injected < 140
    assert board.counts("EXP1", "fault") == (injected, 200)
    assert board.plan("arn:other", now=1).actions == []
    assert board.plan(FN, now=10).actions == []  # its duration is over
    board.remove("EXP1")
    assert board.plan(FN, now=1).actions == []
    assert board.report()["experiments"]["EXP1"]["fault"]["injected"] == injected


def test_the_fis_kit_patch_is_registered() -> None:
    assert "kit.fis" in {patch.name for patch in registry.KIT}


# --- orderflow:... actions of our own (offline only): crash, timeout, provider mode ---

CRASH = "orderflow:lambda:invocation-crash"
TIMEOUT = "orderflow:lambda:invocation-timeout"
PROVIDER_MODE = "orderflow:payments:provider-mode"
SSM = "aws:ssm:parameter"


def _mode_action(**parameters: str) -> dict[str, Any]:
    return {
        "actionId": PROVIDER_MODE,
        "parameters": {"duration": "PT1M", "mode": "down"} | parameters,
        "targets": {"Parameters": "mode"},
    }


def test_crash_and_timeout_defaults() -> None:
    crash = model.parse_action("x", CRASH, {"duration": "PT1M"})
    timeout = model.parse_action("x", TIMEOUT, {"duration": "PT1M"})
    before = model.parse_action("x", CRASH, {"duration": "PT1M", "crashPoint": "before-handler"})

    assert (crash.crash_point, crash.invocation_percentage) == ("after-handler", 100)
    assert before.crash_point == "before-handler"
    assert (timeout.prevent_execution, timeout.invocation_percentage) == (False, 100)
    assert model.parse_action("x", TIMEOUT, {"duration": "PT1M", "preventExecution": "true"})


@pytest.mark.parametrize(
    ("action_id", "parameters", "message"),
    [
        (
            CRASH,
            {"crashPoint": "mid-handler"},
            "parameter crashPoint must be one of after-handler, before-handler, got 'mid-handler'",
        ),
        (CRASH, {"invocationPercentage": "0"}, "invocationPercentage must be an integer from 1"),
        (CRASH, {"preventExecution": "true"}, r"unknown parameter\(s\) preventExecution"),
        (TIMEOUT, {"preventExecution": "maybe"}, "preventExecution must be true or false"),
        (TIMEOUT, {"invocationPercentage": "abc"}, "invocationPercentage"),
        (TIMEOUT, {"crashPoint": "after-handler"}, r"unknown parameter\(s\) crashPoint"),
        (PROVIDER_MODE, {}, r"missing required parameter\(s\) mode"),
        (PROVIDER_MODE, {"mode": "sideways"}, "mode must be one of up, down, slow"),
        (PROVIDER_MODE, {"mode": "down", "invocationPercentage": "50"}, "invocationPercentage"),
    ],
)
def test_orderflow_action_parameters_are_checked(
    action_id: str, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(FisValidationError, match=message):
        model.parse_action("x", action_id, {"duration": "PT1M"} | parameters)


def test_provider_mode_takes_ssm_parameter_targets() -> None:
    targets = {
        "fn": _target(resourceTags={"a": "b"}),
        "mode": _target(resourceType=SSM, resourceTags={"orderflow:parameter": "provider-mode"}),
    }
    model.validate_template(
        targets,
        {"m": _mode_action(mode="slow"), "c": _action(CRASH, duration="PT1M")},
        [{"source": "none"}],
    )
    assert model.parse_action("m", PROVIDER_MODE, _mode_action()["parameters"]).mode == "down"


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (
            {"m": _mode_action() | {"targets": {"Functions": "fn"}}},
            r"targets must be \{'Parameters': <target>\}",
        ),
        (
            {"m": _mode_action() | {"targets": {"Parameters": "fn"}}},
            "target 'fn' must have resourceType aws:ssm:parameter, not aws:lambda:function",
        ),
        (
            {"c": _action(CRASH, duration="PT1M") | {"targets": {"Functions": "mode"}}},
            "target 'mode' must have resourceType aws:lambda:function, not aws:ssm:parameter",
        ),
    ],
)
def test_actions_take_targets_of_their_resource_type(actions: dict[str, Any], message: str) -> None:
    targets = {
        "fn": _target(resourceTags={"a": "b"}),
        "mode": _target(resourceType=SSM, resourceTags={"a": "b"}),
    }
    with pytest.raises(FisValidationError, match=message):
        model.validate_template(targets, actions, [{"source": "none"}])


def test_ssm_parameter_targets_resolve_by_tags() -> None:
    mode = "arn:aws:ssm:us-east-1:000000000000:parameter/orderflow/dev/payments/provider-mode"
    candidates = {mode: {"orderflow:parameter": "provider-mode"}, "arn:other": {}}

    target = _target(resourceType=SSM, resourceTags={"orderflow:parameter": "provider-mode"})

    assert model.select_targets(candidates, target, random.Random(1)) == [mode]


def test_parameter_arns_name_their_parameter() -> None:
    for name in ("/orderflow/dev/payments/provider-mode", "flat-name"):
        arn = parameters.parameter_arn("000000000000", "us-east-1", name)
        assert arn.startswith("arn:aws:ssm:us-east-1:000000000000:parameter/")
        assert parameters.parameter_name(arn) == name


@pytest.mark.parametrize(
    ("action_id", "extra", "crash", "hang"),
    [
        (CRASH, {}, "after-handler", None),
        (CRASH, {"crashPoint": "before-handler"}, "before-handler", None),
        (TIMEOUT, {}, None, "after-handler"),
        (TIMEOUT, {"preventExecution": "true"}, None, "before-handler"),
    ],
)
def test_crash_and_timeout_plans_say_where_the_process_fails(
    action_id: str, extra: dict[str, str], crash: str | None, hang: str | None
) -> None:
    board = faults.FaultBoard()
    action = _active(action_id)
    action.parameters = model.parse_action("fault", action_id, {"duration": "PT1M"} | extra)
    board.add("EXP1", [action])

    plan = board.plan(FN, now=0)

    assert (plan.crash, plan.hang) == (crash, hang)
    assert plan.before is None and plan.after is None  # the process fails, no body is made up
    assert plan.actions == ["EXP1/fault"]
    assert board.counts("EXP1", "fault") == (1, 1)


def test_crashes_at_a_percentage_follow_the_seeded_draw() -> None:
    board, again = faults.FaultBoard(), faults.FaultBoard()
    board.add("EXP1", [_active(CRASH, percentage=20)])
    again.add("EXP1", [_active(CRASH, percentage=20)])

    crashes = [board.plan(FN, now=0).crash is not None for _ in range(500)]

    assert crashes == [again.plan(FN, now=0).crash is not None for _ in range(500)]
    assert 60 < sum(crashes) < 140
    assert board.counts("EXP1", "fault") == (sum(crashes), 500)


def test_an_action_without_invocations_counts_its_runs() -> None:
    board = faults.FaultBoard()
    action = faults.ActiveAction(
        experiment_id="EXP1",
        name="mode",
        action_id=PROVIDER_MODE,
        functions=frozenset(),
        parameters=model.parse_action("mode", PROVIDER_MODE, {"duration": "PT1M", "mode": "down"}),
        draw=model.Draw(1),
        ends_at=100.0,
    )
    board.add("EXP1", [action])

    board.inject("EXP1", "mode")

    assert board.plan(FN, now=0).actions == []
    assert board.counts("EXP1", "mode") == (1, 0)
    board.remove("EXP1")
    assert board.report()["experiments"]["EXP1"]["mode"]["injected"] == 1
