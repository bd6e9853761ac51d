"""``orderflow chaos run``: argument errors, the experiment files shipped in ``chaos/``, and the
report's parts (orderflow_cli.chaos, chaos_experiment, chaos_report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orderflow_cli.chaos import before_batch
from orderflow_cli.chaos_experiment import ExperimentFileError, load, validate
from orderflow_cli.chaos_invariants import OrderState, Verdict
from orderflow_cli.chaos_load import MIX, plan
from orderflow_cli.chaos_report import (
    breaker_changes,
    faults_by_kind,
    faults_in_reason,
    outcomes,
    reconciler_repairs,
    summary_row,
)
from orderflow_cli.main import app

ROOT = Path(__file__).resolve().parents[3]
CHAOS = ROOT / "chaos"
FUNCTIONS = ROOT / "functions"
AGREED = {  # the action catalogue (AWS FIS's Lambda actions and orderflow's own, offline)
    "aws:lambda:invocation-error": {"duration", "invocationPercentage", "preventExecution"},
    "aws:lambda:invocation-add-delay": {
        "duration",
        "invocationPercentage",
        "startupDelayMilliseconds",
    },
    "orderflow:lambda:invocation-crash": {"duration", "invocationPercentage", "crashPoint"},
    "orderflow:payments:provider-mode": {"duration", "mode"},
    "orderflow:dynamodb:throttle": {"duration", "requestPercentage", "operations"},
    "orderflow:events:put-events-partial-failure": {"duration", "entryPercentage"},
    "orderflow:sqs:duplicate-delivery": {"duration", "deliveryPercentage"},
    "orderflow:events:duplicate-delivery": {"duration", "deliveryPercentage"},
}
SHIPPED = {
    "payment-errors",
    "provider-outage",
    "inventory-delay",
    "outbox-relay-crash",
    "projector-errors",
    "duplicate-deliveries",
    "dynamodb-throttling",
    "put-events-partial-failures",
    "all-at-once",
}
DURATIONS = {"projector-errors": 180, "all-at-once": 180}
"""The projector fails for 3 minutes: a record reaches its DLQ after its third receive, and the
projection queue's visibility timeout is 60 s (6 x the projector's 10 s timeout)."""
INVENTORY_TIMEOUT_MS = 10_000  # infra.lambda_defaults.DEFAULT_TIMEOUT of the inventory steps


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["--outputs", "/nonexistent/outputs.json", *args])


# --- argument errors: exit 2, a clear message, before any AWS call ----------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    result = run("chaos", "run", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json: no such file" in result.output


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text("{not json")
    result = run("chaos", "run", str(file))
    assert result.exit_code == 2
    assert "bad.json is not JSON" in result.output


def test_a_template_without_actions(tmp_path: Path) -> None:
    file = tmp_path / "empty.json"
    file.write_text(json.dumps({"targets": {}, "stopConditions": [], "roleArn": "r"}))
    result = run("chaos", "run", str(file))
    assert result.exit_code == 2
    assert "missing actions" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--rate", "0", "--rate must be more than 0"),
        ("--rate", "-2", "--rate must be more than 0"),
        ("--orders", "0", "--orders must be at least 1"),
        ("--settle", "0", "--settle must be more than 0"),
    ],
)
def test_bad_numbers(option: str, value: str, message: str) -> None:
    result = run("chaos", "run", str(CHAOS / "payment-errors.json"), option, value)
    assert result.exit_code == 2
    assert message in result.output


def test_a_good_file_without_a_deployment_says_deploy_first() -> None:
    result = run("chaos", "run", str(CHAOS / "payment-errors.json"), "--orders", "5")
    assert result.exit_code == 2
    assert "deploy first" in result.output


# --- the experiment files -------------------------------------------------------------------


def test_every_shipped_experiment_is_a_template_of_the_agreed_actions() -> None:
    found = {path.stem: load(path) for path in CHAOS.glob("*.json")}
    assert set(found) == SHIPPED
    for name, experiment in found.items():
        assert experiment.duration_s == DURATIONS.get(name, 60), name
        assert experiment.template["tags"]["orderflow:experiment"] == name
        for action in experiment.template["actions"].values():
            assert set(action["parameters"]) <= AGREED[action["actionId"]], action
            for target in action.get("targets", {}).values():
                assert target in experiment.template["targets"], (name, target)


def test_targets_name_functions_and_services_that_exist() -> None:
    """``orderflow:service`` is a folder of functions/, ``orderflow:function`` a handler module
    in kebab case (tests/infra/test_function_tags.py checks the deployed tags are those)."""
    handlers = {p.stem.replace("_", "-") for p in FUNCTIONS.glob("*/handlers/*.py")}
    for path in CHAOS.glob("*.json"):
        for target in json.loads(path.read_text())["targets"].values():
            tags = target.get("resourceTags", {})
            if service := tags.get("orderflow:service"):
                assert (FUNCTIONS / service / "handlers").is_dir(), (path.name, service)
            if target["resourceType"] == "aws:ssm:parameter":
                assert tags == {
                    "orderflow:service": "payments",
                    "orderflow:parameter": "provider-mode",
                }
                continue
            if function := tags.get("orderflow:function"):
                assert function in handlers, (path.name, function)


def test_the_inventory_delay_outlasts_the_inventory_timeout() -> None:
    experiment = load(CHAOS / "inventory-delay.json")
    delays = [
        int(a["parameters"]["startupDelayMilliseconds"])
        for a in experiment.template["actions"].values()
    ]
    assert delays and min(delays) > INVENTORY_TIMEOUT_MS


def test_all_at_once_holds_every_other_experiments_actions() -> None:
    every = load(CHAOS / "all-at-once.json").template["actions"]
    for name in SHIPPED - {"all-at-once"}:
        for action, body in load(CHAOS / f"{name}.json").template["actions"].items():
            assert every[action] == body


def test_a_template_is_checked_as_far_as_the_runner_needs_it() -> None:
    base = {"targets": {}, "stopConditions": [], "roleArn": "r"}
    with pytest.raises(ExperimentFileError, match="unknown field"):
        validate("x", {**base, "actions": {"a": {}}, "nonsense": 1})
    with pytest.raises(ExperimentFileError, match="action a has no actionId"):
        validate("x", {**base, "actions": {"a": {}}})
    with pytest.raises(ExperimentFileError, match="action a: duration must be"):
        validate("x", {**base, "actions": {"a": {"actionId": "z", "parameters": {}}}})
    chained = {
        "a": {"actionId": "z", "parameters": {"duration": "PT30S"}},
        "b": {"actionId": "z", "parameters": {"duration": "PT1M"}, "startAfter": ["a"]},
    }
    template = validate("x", {**base, "actions": chained})
    from orderflow_cli.chaos_experiment import Experiment

    assert Experiment("x", template).duration_s == 90
    assert Experiment("x", template).with_seed(3)["tags"] == {"orderflow:seed": "3"}


# --- load and report -------------------------------------------------------------------------


def test_the_plan_is_the_mix_and_repeats_with_its_seed() -> None:
    assert plan(50, 7) == plan(50, 7)
    assert plan(50, 7) != plan(50, 8)
    tokens = {token for token, _ in plan(200, 7)}
    assert tokens == {token for token, _ in MIX}
    assert ("tok_ok", "SKU-OOS-008") in plan(200, 7)


def test_the_before_batch_is_a_tenth_within_bounds() -> None:
    assert [before_batch(n) for n in (3, 20, 100, 200, 1000)] == [3, 5, 10, 20, 20]


def test_faults_counted_from_the_reason_and_by_kind() -> None:
    assert faults_in_reason("Faults injected: 12 of 40 invocations") == 12
    assert faults_in_reason("") == 0
    kinds = faults_by_kind(
        {"a": "aws:lambda:invocation-error", "b": "aws:lambda:invocation-error", "c": "x:y"},
        {"a": 2, "b": 3, "c": 1},
    )
    assert kinds == {"aws:lambda:invocation-error": 5, "x:y": 1}


def test_outcomes_by_status_and_reason() -> None:
    orders = {
        "1": OrderState("1", "CONFIRMED"),
        "2": OrderState("2", "CANCELLED", "PAYMENT_DECLINED"),
        "3": OrderState("3", "CANCELLED", "PAYMENT_DECLINED"),
    }
    assert outcomes(orders, ["1", "2", "3", "4"]) == {
        "CANCELLED:PAYMENT_DECLINED": 2,
        "CONFIRMED": 1,
        "MISSING": 1,
    }


def test_breaker_transitions_and_reconciler_repairs() -> None:
    changes = breaker_changes(
        {"provider": {"state": "CLOSED", "opens": 2, "probes": 1}},
        {"provider": {"state": "CLOSED", "opens": 3, "probes": 2}},
    )
    assert changes["provider"] == {
        "stateBefore": "CLOSED",
        "stateAfter": "CLOSED",
        "opened": 1,
        "probes": 1,
    }
    repairs = reconciler_repairs(
        [
            {
                "acquired": True,
                "jobs": [{"job": "outbox", "fixed": 2, "outcomes": {"republished": 2}}],
            },
            {"acquired": False, "jobs": []},
            {"error": "boom"},
            {
                "acquired": True,
                "jobs": [{"job": "outbox", "fixed": 1}, {"job": "payments", "fixed": 0}],
            },
        ]
    )
    assert repairs["fixed"] == {"outbox": 3, "payments": 0}
    assert repairs["fixedTotal"] == 3
    assert (repairs["invocations"], repairs["leaseBusy"], repairs["errors"]) == (4, 1, 1)
    assert repairs["outcomes"] == {"outbox:republished": 2}


def test_the_summary_row_names_what_failed() -> None:
    built = {
        "experiment": {"file": "payment-errors"},
        "faults": {"byKind": {"aws:lambda:invocation-error": 9}},
        "orders": {"placed": ["a", "b"]},
        "outcomes": {"CONFIRMED": 2},
        "deadLetters": [],
        "latency": {
            "before": {"n": 5, "p50Ms": 40.0, "p95Ms": 80.0},
            "during": {"n": 0, "p50Ms": None, "p95Ms": None},
        },
        "invariants": {
            "afterRedrive": [
                Verdict("terminal", "r", 2, 0).to_json(),
                Verdict("outbox", "r", 1, 1, ["e1"]).to_json(),
            ]
        },
    }
    row = summary_row(built)
    assert row["faults"] == "lambda:invocation-error 9"
    assert row["invariants"] == "1/2 hold; outbox: 1"
    assert row["p50/p95 before"] == "40/80 ms"
    assert row["p50/p95 during"] == "-"
