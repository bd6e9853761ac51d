"""Order throughput and latency through the deployed API on the embedded emulator.

Offers N orders at a fixed rate through `POST /orders` (open loop: arrivals do not wait for
earlier orders), with a mix of payment tokens, and measures for each order the time from the
POST to its terminal status, then the sustained rate and the system's invariants.

The terminal time is the order's own `updatedAt`, written by ConfirmOrder / CancelOrder in the
same transaction as the status (the system of record; the read model follows it). Completion
is detected by reading the orders table in batches of 100 keys, not by polling the API: each
`GET /orders/{id}` is an API Gateway -> Lambda -> DynamoDB round trip on the same emulator,
and polling every order would measure the poller more than the saga.

Baseline in the same run: `GET /products` (API Gateway -> Lambda; since issue 12 the function
answers from its in-memory catalogue within the TTL, 5 s on dev, so the floor is mostly the
gateway and the Lambda round trip; each warm environment scans the table once per TTL). Also
reported: the CPU each of the emulator's processes used during the run, per order
(`bench/cpu.py`).

    make deploy && .venvs/dev/bin/python -m bench.orders --orders 100 --rate 2

Hot-SKU mode (a flash sale, docs/performance/hot-skus.md): `--hot-sku PREFIX` puts every order (same
token mix) on one fresh SKU `PREFIX-<hex>` with `--hot-stock` units, its stock sharded over the
stage's shard count (`--sharded`, the default; `--shards N` to choose) or on its one product
item (`--unsharded`). It also reports the reservation transactions each reservation took.

    .venvs/dev/bin/python -m bench.orders --orders 90 --rate 3 --hot-sku SKU-FLASH --sharded
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.cpu import CpuMeter, cpu_table
from bench.stats import summary, table
from emulator.clients import client
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, demo_api_key, hot_stocked_product

ROOT = Path(__file__).resolve().parent.parent
# (token, sku) mix: mostly good orders, some declined, some flaky, some sold out.
MIX: list[tuple[str, str | None]] = [("tok_ok", None)] * 14
MIX += [("tok_decline", None)] * 3 + [("tok_flaky", None)] * 2
MIX += [("tok_ok", "SKU-OOS-008")]
PLENTIFUL = ["SKU-STK-004", "SKU-MUG-001", "SKU-NTB-006", "SKU-TEE-002", "SKU-CAP-003"]
TERMINAL = {"CONFIRMED", "CANCELLED"}
CHECK_EVERY_S = 0.5


@dataclass
class Placed:
    order_id: str
    token: str
    sku: str
    posted_at: float  # wall clock, as the functions' timestamps (same machine)
    status: str = "PENDING"
    settled_at: float = float("nan")

    @property
    def latency_ms(self) -> float:
        return (self.settled_at - self.posted_at) * 1000


def outputs() -> dict[str, str]:
    stacks = json.loads((ROOT / "outputs.json").read_text())
    return {key: value for stack in stacks.values() for key, value in stack.items()}


def stock(products_table: str) -> dict[str, dict[str, int]]:
    """Available and reserved units per SKU; a hot SKU's summed over its product item and its
    shard items (`SHARD#<sku>#<i>`)."""
    items = client("dynamodb").get_paginator("scan").paginate(TableName=products_table)
    levels: dict[str, dict[str, int]] = {}
    for item in (item for page in items for item in page["Items"]):
        pk = item["pk"]["S"]
        if pk.startswith("SKU#"):
            sku = pk.removeprefix("SKU#")
        elif pk.startswith("SHARD#"):
            sku = pk.split("#")[1]
        else:
            continue
        counters = levels.setdefault(sku, {})
        for field in ("available", "reserved"):
            if field in item:
                counters[field] = counters.get(field, 0) + int(item[field]["N"])
    return levels


def place(api: KeyedApi, token: str, sku: str) -> Placed:
    posted_at = time.time()
    body = {"items": [{"sku": sku, "quantity": 1}], "paymentToken": token}
    status, answer = api.http("POST", "/orders", body)
    if status != 202:
        raise RuntimeError(f"POST /orders answered {status}: {answer}")
    return Placed(answer["orderId"], token, sku, posted_at)


def offer(api: KeyedApi, plan: list[tuple[str, str]], rate: float) -> list[Placed]:
    """POST the plan's orders at `rate` per second, whatever the system's response time."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for index, (token, sku) in enumerate(plan):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            futures.append(pool.submit(place, api, token, sku))
        return [future.result() for future in futures]


def await_settled(orders_table: str, placed: list[Placed], timeout_s: float) -> None:
    """Read the ORDER items until every order is terminal (or the timeout passes)."""
    dynamodb = client("dynamodb")
    deadline = time.monotonic() + timeout_s
    pending = {p.order_id: p for p in placed}
    while pending and time.monotonic() < deadline:
        ids = list(pending)
        for start in range(0, len(ids), 100):
            keys = [
                {"pk": {"S": f"ORDER#{i}"}, "sk": {"S": "ORDER"}} for i in ids[start : start + 100]
            ]
            request = {
                orders_table: {
                    "Keys": keys,
                    "ProjectionExpression": "pk, #s, updatedAt",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            }
            for item in dynamodb.batch_get_item(RequestItems=request)["Responses"][orders_table]:
                if item["status"]["S"] in TERMINAL:
                    order = pending.pop(item["pk"]["S"].removeprefix("ORDER#"))
                    order.status = item["status"]["S"]
                    order.settled_at = datetime.fromisoformat(item["updatedAt"]["S"]).timestamp()
        time.sleep(CHECK_EVERY_S)


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


@dataclass
class Run:
    """One run of the benchmark: what was placed, how it ended, and what it cost."""

    placed: list[Placed]
    cpu: dict[str, float]
    wall_s: float
    violations: list[str]

    @property
    def settled(self) -> list[Placed]:
        return [p for p in self.placed if p.status in TERMINAL]


def plan_orders(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(token, sku or rng.choice(PLENTIFUL)) for token, sku in rng.choices(MIX, k=count)]


def batch_items(
    table: str, keys: list[dict[str, dict[str, str]]], projection: str
) -> list[dict[str, dict[str, str]]]:
    """The items of ``keys`` that exist, read with BatchGetItem 100 keys at a time (unprocessed
    keys asked again)."""
    dynamodb = client("dynamodb")
    items: list[dict[str, dict[str, str]]] = []
    for start in range(0, len(keys), 100):
        request = {table: {"Keys": keys[start : start + 100], "ProjectionExpression": projection}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += answer["Responses"].get(table, [])
            request = answer.get("UnprocessedKeys") or {}
    return items


def reservation_attempts(products_table: str, placed: list[Placed]) -> list[int]:
    """Transactions each stored reservation of the run took (1 + its conditional-check
    failures: the product item of a SKU learnt to be hot, empty shards walked, splits)."""
    keys = [{"pk": {"S": f"RESERVATION#{p.order_id}"}, "sk": {"S": "RESERVATION"}} for p in placed]
    items = batch_items(products_table, keys, "attempts")
    return [int(item.get("attempts", {"N": "1"})["N"]) for item in items]


def reserve_retries(orders_table: str, placed: list[Placed]) -> list[int]:
    """Per order whose saga ran, the ReserveInventory invocations that failed and were retried
    by the state machine (InventoryBusy: a cancelled transaction, e.g. TransactionConflict;
    or a Lambda error), read from the executions' histories."""
    sfn = client("stepfunctions")
    keys = [{"pk": {"S": f"ORDER#{p.order_id}"}, "sk": {"S": "ORDER"}} for p in placed]
    items = batch_items(orders_table, keys, "sagaExecution")
    arns = [item["sagaExecution"]["S"] for item in items if "sagaExecution" in item]
    retries: list[int] = []
    for arn in arns:
        state, failed = "", 0
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for event in (event for page in pages for event in page["events"]):
            if event["type"] == "TaskStateEntered":
                state = event["stateEnteredEventDetails"]["name"]
            elif state == "ReserveInventory" and event["type"] in (
                "LambdaFunctionFailed",
                "LambdaFunctionTimedOut",
            ):
                failed += 1
        retries.append(failed)
    return retries


def premium_api(out: dict[str, str]) -> KeyedApi:
    """The API with the premium plan's demo key: 50 requests/s, well above what this offers;
    orders are placed for customer ``bench``, with tokens from the stage's dev signing key."""
    issuer = StageIssuer.from_outputs(out, client("secretsmanager"))
    return KeyedApi(
        local_api_url(out["OrdersApiId"]), demo_api_key(out, "premium"), "bench", issuer
    )


def api_floor(api: KeyedApi, calls: int = 50) -> list[float]:
    """Milliseconds of `GET /products` (API Gateway -> Lambda, the catalogue cached in memory
    for its TTL): the baseline."""
    baseline = []
    for _ in range(calls):
        started = time.perf_counter()
        api.http("GET", "/products")
        baseline.append((time.perf_counter() - started) * 1000)
    return baseline


def run(
    api: KeyedApi, out: dict[str, str], plan: list[tuple[str, str]], rate: float, timeout_s: float
) -> Run:
    """Offer the plan at `rate`, wait until every order is terminal, check the invariants."""
    before = stock(out["ProductsTableName"])
    meter = CpuMeter()
    meter.start()
    placed = offer(api, plan, rate)
    await_settled(out["OrdersTableName"], placed, timeout_s)
    cpu = meter.stop()
    time.sleep(3)  # CommitInventory runs after the terminal status: let it settle
    after = stock(out["ProductsTableName"])
    violations = check_invariants(placed, before, after, out["PaymentsTableName"])
    return Run(placed, cpu, meter.wall_s, violations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2.0, help="orders offered per second")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the last")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--hot-sku", metavar="PREFIX", help="every order on one fresh SKU named PREFIX-<hex>"
    )
    sharding = parser.add_mutually_exclusive_group()
    sharding.add_argument(
        "--sharded", dest="sharded", action="store_true", default=True, help="(default)"
    )
    sharding.add_argument("--unsharded", dest="sharded", action="store_false")
    parser.add_argument("--shards", type=int, help="shard count (default: the stage's)")
    parser.add_argument("--hot-stock", type=int, help="units of the hot SKU (default: --orders)")
    args = parser.parse_args()

    out = outputs()
    api = premium_api(out)
    plan = plan_orders(args.orders, args.seed)
    if args.hot_sku:
        shards = args.shards if args.sharded else 0
        stock_units = args.orders if args.hot_stock is None else args.hot_stock
        fresh = f"{args.hot_sku.upper()}-{uuid.uuid4().hex[:8].upper()}"
        hot = hot_stocked_product(client("lambda"), out, stock_units, shards=shards, sku=fresh)
        plan = [(token, hot) for token, _ in plan]
    baseline = api_floor(api)
    result = run(api, out, plan, args.rate, args.timeout)
    placed, settled = result.placed, result.settled
    first_post = min(p.posted_at for p in placed)
    span = max((p.settled_at for p in settled), default=first_post) - first_post
    print(
        table(
            [
                ("GET /products (baseline)", summary(baseline)),
                ("POST /orders -> terminal status", summary([p.latency_ms for p in settled])),
            ]
        )
    )
    print(
        f"\noffered: {len(placed)} orders at {args.rate:g}/s; settled: {len(settled)} in "
        f"{span:.1f} s from the first POST -> sustained {len(settled) / span:.2f} orders/s"
    )
    print("\nCPU of the emulator's processes from the first POST to the last order settled:\n")
    print(cpu_table(result.cpu, result.wall_s, len(placed)))
    outcomes = Counter((p.token, p.status) for p in placed)
    print("outcomes: " + ", ".join(f"{t}->{s}: {n}" for (t, s), n in sorted(outcomes.items())))
    if args.hot_sku:
        attempts = reservation_attempts(out["ProductsTableName"], placed)
        failures = [n - 1 for n in attempts]
        layout = (
            f"sharded ({args.shards or 'stage default'} shards)" if args.sharded else "unsharded"
        )
        retried = reserve_retries(out["OrdersTableName"], placed)
        print(
            f"hot SKU {plan[0][1]}, {layout}: {len(attempts)} reservations stored; "
            f"conditional-check failures per reservation: mean "
            f"{sum(failures) / max(len(failures), 1):.2f}, max {max(failures, default=0)}; "
            f"ReserveInventory retries per saga: mean "
            f"{sum(retried) / max(len(retried), 1):.2f}, max {max(retried, default=0)} "
            f"({len(retried)} sagas)"
        )
    print(f"invariant violations: {len(result.violations)}")
    for violation in result.violations:
        print(f"  - {violation}")


if __name__ == "__main__":
    main()
