"""Order throughput and latency through the deployed API on the embedded emulator.

Places N orders concurrently with a mix of payment tokens, measures the time from POST /orders
to the order's terminal status in the read model, the sustained orders per second, and then
checks the system's invariants. Baseline in the same run: GET /products (one API Gateway ->
Lambda -> DynamoDB round trip).

    make deploy && .venvs/dev/bin/python -m bench.orders --orders 100 --workers 8
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.stats import summary, table
from emulator.clients import client
from emulator.next_steps import local_api_url
from tests.integration.support import http

ROOT = Path(__file__).resolve().parent.parent
# (token, sku) mix: mostly good orders, some declined, some flaky, some sold out.
MIX: list[tuple[str, str | None]] = [("tok_ok", None)] * 14
MIX += [("tok_decline", None)] * 3 + [("tok_flaky", None)] * 2
MIX += [("tok_ok", "SKU-OOS-008")]
PLENTIFUL = ["SKU-STK-004", "SKU-MUG-001", "SKU-NTB-006", "SKU-TEE-002", "SKU-CAP-003"]
TERMINAL = {"CONFIRMED", "CANCELLED"}
# How often a worker reads its order back. Each read is an API Gateway -> Lambda -> DynamoDB
# round trip on the same emulator, so polling faster measures the poller more than the saga.
POLL_S = 0.25


@dataclass
class Placed:
    order_id: str
    token: str
    sku: str
    latency_ms: float
    status: str
    finished_at: float


def outputs() -> dict[str, str]:
    stacks = json.loads((ROOT / "outputs.json").read_text())
    return {key: value for stack in stacks.values() for key, value in stack.items()}


def stock(products_table: str) -> dict[str, dict[str, int]]:
    items = client("dynamodb").scan(TableName=products_table)["Items"]
    return {
        item["pk"]["S"].removeprefix("SKU#"): {
            field: int(item[field]["N"]) for field in ("available", "reserved") if field in item
        }
        for item in items
        if item["pk"]["S"].startswith("SKU#")
    }


def place_and_follow(api: str, token: str, sku: str, timeout_s: float = 180) -> Placed:
    started = time.perf_counter()
    body = {"customerId": "bench", "items": [{"sku": sku, "quantity": 1}], "paymentToken": token}
    status, answer = http("POST", f"{api}/orders", body)
    if status != 202:
        raise RuntimeError(f"POST /orders answered {status}: {answer}")
    order_id = answer["orderId"]
    while time.perf_counter() - started < timeout_s:
        status, order = http("GET", f"{api}/orders/{order_id}")
        if status == 200 and order["status"] in TERMINAL:
            now = time.perf_counter()
            return Placed(order_id, token, sku, (now - started) * 1000, order["status"], now)
        time.sleep(POLL_S)
    return Placed(order_id, token, sku, float("nan"), "PENDING", time.perf_counter())


def check_invariants(
    placed: list[Placed],
    before: dict[str, dict[str, int]],
    after: dict[str, dict[str, int]],
    payments_table: str,
) -> list[str]:
    violations = [f"order {p.order_id} not terminal" for p in placed if p.status not in TERMINAL]
    confirmed_units = Counter(p.sku for p in placed if p.status == "CONFIRMED")
    for sku, levels in before.items():
        sold = levels["available"] - after[sku]["available"]
        if sold != confirmed_units[sku]:
            violations.append(
                f"{sku}: available fell by {sold}, confirmed orders took {confirmed_units[sku]}"
            )
        if after[sku].get("reserved", 0) != levels.get("reserved", 0):
            violations.append(
                f"{sku}: reserved went {levels.get('reserved')} -> {after[sku].get('reserved')}"
            )
    dynamodb = client("dynamodb")
    kept = 0
    for p in placed:
        key = {"pk": {"S": f"AUTH#{p.order_id}"}, "sk": {"S": "AUTH"}}
        item = dynamodb.get_item(TableName=payments_table, Key=key).get("Item")
        kept += bool(item and item["status"]["S"] == "AUTHORIZED")
    confirmed = sum(p.status == "CONFIRMED" for p in placed)
    if kept != confirmed:
        violations.append(f"{kept} authorizations kept for {confirmed} confirmed orders")
    return violations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    out = outputs()
    api = local_api_url(out["OrdersApiId"])
    rng = random.Random(args.seed)
    plan = [
        (token, sku or rng.choice(PLENTIFUL))
        for token, sku in (rng.choice(MIX) for _ in range(args.orders))
    ]

    baseline = []
    for _ in range(50):
        started = time.perf_counter()
        http("GET", f"{api}/products")
        baseline.append((time.perf_counter() - started) * 1000)

    before = stock(out["ProductsTableName"])
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        placed = list(pool.map(lambda order: place_and_follow(api, *order), plan))
    elapsed = max(p.finished_at for p in placed) - started
    time.sleep(2)  # let compensations that run after the terminal status settle
    after = stock(out["ProductsTableName"])
    violations = check_invariants(placed, before, after, out["PaymentsTableName"])

    done = [p.latency_ms for p in placed if p.status in TERMINAL]
    print(
        table(
            [
                ("GET /products (baseline)", summary(baseline)),
                ("POST /orders -> terminal status", summary(done)),
            ]
        )
    )
    outcomes = Counter((p.token, p.status) for p in placed)
    print(
        f"\norders: {len(placed)}, workers: {args.workers}, elapsed: {elapsed:.1f} s, "
        f"sustained: {len(placed) / elapsed:.1f} orders/s"
    )
    print(
        "outcomes: "
        + ", ".join(f"{token}->{status}: {n}" for (token, status), n in sorted(outcomes.items()))
    )
    print(f"invariant violations: {len(violations)}")
    for violation in violations:
        print(f"  - {violation}")


if __name__ == "__main__":
    main()
