"""``orderflow chaos run`` on the emulator: a short experiment (20 orders, the shipped payment
errors: 30% of the payments functions' invocations fail for 60 s, seed fixed) through the CLI
(typer's CliRunner, the same code as ``.venvs/dev/bin/orderflow``), which must find every
invariant holding, faults injected, and every order it placed terminal."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from emulator.clients import REGION, endpoint
from orderflow_cli.main import app
from tests.integration.conftest import ROOT

EXPERIMENT = ROOT / "chaos" / "payment-errors.json"
ORDERS = 20
SETTLE_S = 90
"""Bound on each settling wait: a payment error is caught by the saga at once (compensation
retries of VoidPayment take seconds); the reconciler's grace period is not needed here."""


def chaos_run(*args: str) -> tuple[int, dict[str, Any]]:
    env = {
        "AWS_ENDPOINT_URL": endpoint(),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    result = CliRunner(env=env).invoke(
        app, ["--outputs", str(ROOT / "outputs.json"), "chaos", "run", *args]
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(
            f"exit {result.exit_code}: {result.output} {result.exception!r}"
        ) from result.exception


def test_payment_errors_under_load_lose_nothing(outputs: dict[str, str]) -> None:
    code, report = chaos_run(
        str(EXPERIMENT),
        "--orders",
        str(ORDERS),
        "--rate",
        "4",
        "--seed",
        "11",
        "--settle",
        str(SETTLE_S),
        "--json",
    )

    invariants = report["invariants"]["afterRedrive"]
    assert code == 0, [v for v in invariants if not v["holds"]]
    assert report["holds"] is True
    assert {v["name"] for v in invariants} >= {
        "terminal",
        "stock balance",
        "reservations",
        "authorizations",
        "one outcome event",
        "outbox",
        "DLQs empty",
    }
    assert all(v["holds"] for v in invariants)
    # the experiment ran and hit the payments functions
    assert report["experiment"]["status"] == "completed"
    assert report["faults"]["byKind"]["aws:lambda:invocation-error"] > 0
    # every order placed is accounted for, and terminal in the orders table
    placed = report["orders"]["placed"]
    assert len(placed) == ORDERS
    assert sum(report["outcomes"].values()) == ORDERS
    assert all(key.startswith(("CONFIRMED", "CANCELLED")) for key in report["outcomes"])
    assert report["outcomes"].get("CONFIRMED", 0) > 0  # 70% of payment calls still succeed
    terminal = next(v for v in invariants if v["name"] == "terminal")
    assert terminal["checked"] == ORDERS and terminal["violations"] == 0
    assert report["latency"]["during"]["n"] > 0
