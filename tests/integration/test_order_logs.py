"""``orderflow logs`` on the emulator: one order placed through the API, its log lines found
in the stack's log groups (the kit writes each function's lines to its own group) and merged
in time order, through the CLI (typer's CliRunner, the code of ``.venvs/dev/bin/orderflow``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulator.clients import endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.main import app
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product

ROOT = Path(__file__).resolve().parents[2]
CLI_ENV = {
    "AWS_ENDPOINT_URL": endpoint(),
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "COLUMNS": "200",
}
EXPECTED = {
    # (service, message) of a line each function writes about an order that is confirmed
    ("orders", "order placed"),  # PlaceOrder
    ("orders", "outbox item relayed"),  # OutboxRelay
    ("orders", "event projected"),  # the projector, once per event of the order
    ("orders", "order confirmed"),  # ConfirmOrder (a saga step)
    ("notifications", "event audited"),  # the audit recorder
    ("notifications", "customer notified"),  # the customer notifier
}


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "logs-customer", stage_issuer
    )


def place_and_confirm(api: KeyedApi, sku: str) -> str:
    body = {
        "items": [{"sku": sku, "quantity": 1}],
        "paymentToken": "tok_ok",
    }
    status, answer = api.http("POST", "/orders", body)
    assert status == 202, answer
    order_id = str(answer["orderId"])

    def confirmed() -> bool:
        status, order = api.http("GET", f"/orders/{order_id}")
        return status == 200 and order["status"] == "CONFIRMED"

    eventually(confirmed, timeout_s=90)
    return order_id


def logs(*args: str) -> Any:
    return CliRunner(env=CLI_ENV).invoke(
        app, ["--outputs", str(ROOT / "outputs.json"), "logs", *args]
    )


def test_an_orders_lines_from_every_function_it_went_through_in_time_order(
    api: KeyedApi, outputs: dict[str, str], lambda_client: Any
) -> None:
    sku = stocked_product(lambda_client, outputs, price="12.50", available=100)
    order_id = place_and_confirm(api, sku)

    seen: list[list[dict[str, Any]]] = []

    def every_function_logged() -> list[dict[str, Any]] | None:
        """The order's lines once every function's are in (the flow's last ones: the
        projector's OrderConfirmed, the notifications) and two reads in a row agree."""
        result = logs(order_id, "--since", "10m", "--json")
        if result.exit_code != 0:
            return None
        lines = [json.loads(raw) for raw in result.stdout.splitlines()]
        said = {(line.get("service"), line.get("message")) for line in lines}
        stable = bool(seen) and seen[-1] == lines
        seen.append(lines)
        final = any(
            line.get("event_type") == "OrderConfirmed"
            for line in lines
            if line.get("message") == "event projected"
        )
        return lines if said >= EXPECTED and final and stable else None

    lines = eventually(every_function_logged, timeout_s=60, every_s=2)

    # every line is the order's: its id, or (written before the id existed) its correlation id
    # (the outbox relay's lines carry the order id only)
    correlations = {
        line["correlation_id"]
        for line in lines
        if line.get("order_id") == order_id and "correlation_id" in line
    }
    assert correlations
    for line in lines:
        assert line.get("order_id") in {order_id, None}, line
        assert line.get("order_id") == order_id or line.get("correlation_id") in correlations
    # in the order the functions wrote them
    written = [
        datetime.strptime(line["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").astimezone(UTC)
        for line in lines
    ]
    assert written == sorted(written)
    placed = next(i for i, line in enumerate(lines) if line.get("message") == "order placed")
    confirmed = next(i for i, line in enumerate(lines) if line.get("message") == "order confirmed")
    assert placed < confirmed

    # the terminal view: one row per line under a header naming the functions
    shown = logs(order_id, "--since", "10m")
    assert shown.exit_code == 0, shown.output
    header, *rows = shown.stdout.splitlines()
    assert f"order {order_id}: {len(lines)} log lines from" in header
    assert len(rows) == len(lines)
    assert any("orders/" in row and "order placed" in row for row in rows)
