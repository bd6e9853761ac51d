"""The A/B benchmark's own client (bench/ab.py runs it once per side, with that side's
``AWS_ENDPOINT_URL``): it talks to either side's API, adapting to what the side has.

- Since issue 12 an order belongs to the customer of the JWT it is placed with (minted here
  with the stage's dev signing key, as bench/orders.py does); 173cdc4 has no identity and
  takes ``customerId`` in the body. Which one a side is, is read from its outputs.
- ``follow``: orders one at a time, each followed until ``GET /orders/{id}`` shows it
  CONFIRMED, by polling every ``--interval`` s, or (``--long-poll``, sides that have it) with
  ``?wait=20``, modes alternating order by order; ``GET /products`` is sampled between orders,
  so the floor is measured in the same run. Prints JSON.
- ``count``: the probe's per-request counts (bench/probe) for an idle window, then for a run
  of the same order mix as bench/orders.py at a fixed rate, until the system is quiet again;
  and the Step Functions state transitions of the executions the run started (from their
  histories). Prints JSON; bench/ab_report.py turns it into counts per order.

    AWS_ENDPOINT_URL=http://127.0.0.1:4571 .venvs/dev/bin/python -m bench.ab_client \\
        follow --outputs outputs.json --orders 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.config import Config

from bench.orders import MIX, PLENTIFUL, TERMINAL, plan_orders
from emulator.clients import client, endpoint
from emulator.next_steps import local_api_url
from orderflow_cli.tokens import SECRET_OUTPUT, StageIssuer
from tests.integration.support import Answer, KeyedApi, demo_api_key

COUNTS_PATH = "/_orderflow_bench/counts"
BENCH_AGENT = "orderflow-bench"  # bench/probe: requests with it are the benchmark's own
CUSTOMER = "bench-ab"
FOLLOW_SKU = "SKU-MUG-001"
GIVE_UP_S = 120.0
assert MIX and PLENTIFUL  # the mix is bench/orders.py's, unchanged


def bench_client(service: str) -> Any:
    """A client whose requests the probe counts as the benchmark's own (not the system's)."""
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        read_timeout=120,
        user_agent_extra=BENCH_AGENT,
    )
    return client(service, config=config)


@dataclass
class SideApi:
    """One side's orders API, as a customer."""

    api: KeyedApi
    identity: bool

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> SideApi:
        url = local_api_url(outputs["OrdersApiId"])
        key = demo_api_key(outputs, "premium")
        if SECRET_OUTPUT in outputs:
            issuer = StageIssuer.from_outputs(outputs, client("secretsmanager"))
            return cls(KeyedApi(url, key, CUSTOMER, issuer), identity=True)
        return cls(KeyedApi(url, key), identity=False)

    def place(self, token: str, sku: str) -> str:
        body: dict[str, Any] = {"items": [{"sku": sku, "quantity": 1}], "paymentToken": token}
        if not self.identity:
            body["customerId"] = CUSTOMER
        status, answer = self.api.http("POST", "/orders", body)
        if status != 202:
            raise RuntimeError(f"POST /orders answered {status}: {answer}")
        order_id: str = answer["orderId"]
        return order_id

    def get(self, path: str) -> Answer:
        return self.api.request("GET", path)


def read_outputs(path: Path) -> dict[str, str]:
    stacks = json.loads(path.read_text())
    return {key: value for stack in stacks.values() for key, value in stack.items()}


def elapsed_ms(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


# --- follow ----------------------------------------------------------------------------------


def follow_one(side: SideApi, *, long_poll: bool, interval: float) -> tuple[float, int]:
    """Place one good order; milliseconds until GET /orders/{id} shows it CONFIRMED, GETs."""
    started = time.perf_counter()
    order_id = side.place("tok_ok", FOLLOW_SKU)
    path = f"/orders/{order_id}" + ("?wait=20" if long_poll else "")
    etag: str | None = None
    gets = 0
    while time.perf_counter() - started < GIVE_UP_S:
        headers = {"If-None-Match": etag} if etag and long_poll else None
        answer = side.api.request("GET", path, headers=headers)
        gets += 1
        if answer.status == 200:
            etag = answer.headers.get("ETag")
            status = answer.body.get("status")
            if status == "CONFIRMED":
                return (time.perf_counter() - started) * 1000, gets
            if status in TERMINAL:
                raise RuntimeError(f"order {order_id} ended {status}, not CONFIRMED")
        if not long_poll:
            time.sleep(interval)
    raise RuntimeError(f"order {order_id} not CONFIRMED within {GIVE_UP_S:g} s")


def follow(side: SideApi, orders: int, interval: float, long_poll: bool) -> dict[str, Any]:
    products: list[float] = []
    seen: dict[str, list[float]] = {"poll": [], "long poll": []}
    gets: dict[str, list[int]] = {"poll": [], "long poll": []}
    for _ in range(5):  # warm the GET paths
        side.get("/products")
    follow_one(side, long_poll=False, interval=interval)  # and GET /orders/{id}: not counted
    for index in range(orders):
        products.extend(elapsed_ms(lambda: side.get("/products")) for _ in range(5))
        mode = "long poll" if long_poll and index % 2 else "poll"
        latency, count = follow_one(side, long_poll=mode == "long poll", interval=interval)
        seen[mode].append(latency)
        gets[mode].append(count)
    return {
        "products_ms": products,
        "confirmed_ms": seen,
        "gets": gets,
        "interval_s": interval,
        "identity": side.identity,
    }


# --- count -----------------------------------------------------------------------------------


def probe_counts(*, reset: bool = False) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{endpoint()}{COUNTS_PATH}", method="DELETE" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        rows: list[dict[str, Any]] = json.load(answer)["counts"]
    return rows


def _order_keys(rows: list[dict[str, Any]], background: set[tuple[Any, ...]]) -> int:
    """Requests of keys an idle emulator does not make (so: caused by orders)."""
    return sum(
        row["count"]
        for row in rows
        if row["caller"] != "bench"
        and row["detail"] != "empty"
        and (row["caller"], row["service"], row["operation"], row["detail"]) not in background
    )


def await_terminal(orders_table: str, ids: list[str], timeout_s: float) -> None:
    dynamodb = bench_client("dynamodb")
    pending = set(ids)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for start in range(0, len(ids), 100):
            keys = [
                {"pk": {"S": f"ORDER#{i}"}, "sk": {"S": "ORDER"}}
                for i in sorted(pending)[start : start + 100]
            ]
            if not keys:
                break
            request = {
                orders_table: {
                    "Keys": keys,
                    "ProjectionExpression": "pk, #s",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            }
            for item in bench_client_batch(dynamodb, request)[orders_table]:
                if item["status"]["S"] in TERMINAL:
                    pending.discard(item["pk"]["S"].removeprefix("ORDER#"))
        time.sleep(0.5)
    if pending:
        raise RuntimeError(f"{len(pending)} orders not terminal within {timeout_s:g} s")


def bench_client_batch(dynamodb: Any, request: dict[str, Any]) -> dict[str, list[Any]]:
    responses: dict[str, list[Any]] = dynamodb.batch_get_item(RequestItems=request)["Responses"]
    return responses


def await_quiet(background: set[tuple[Any, ...]], quiet_s: float, timeout_s: float) -> None:
    """Until the requests that orders cause stop for ``quiet_s`` (tails: inventory commits,
    the read model, notifications), within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = _order_keys(probe_counts(), background)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)


def transitions_since(started: datetime) -> dict[str, int]:
    """State transitions (``*StateEntered`` events) and executions of every state machine's
    executions started since ``started``."""
    sfn = bench_client("stepfunctions")
    entered = executions = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine["stateMachineArn"]
        ):
            for execution in page["executions"]:
                if execution["startDate"] < started:
                    continue
                executions += 1
                for history in sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                ):
                    entered += sum(
                        event["type"].endswith("StateEntered") for event in history["events"]
                    )
    return {"transitions": entered, "executions": executions}


def count(
    side: SideApi, *, outputs: dict[str, str], orders: int, rate: float, seed: int, idle_s: float
) -> dict[str, Any]:
    plan = plan_orders(orders, seed)
    probe_counts(reset=True)
    time.sleep(idle_s)  # the idle window: what pollers and samplers cost without orders
    idle = probe_counts()
    background = {(r["caller"], r["service"], r["operation"], r["detail"]) for r in idle}
    probe_counts(reset=True)
    run_started = time.monotonic()
    started_at = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for index, (token, sku) in enumerate(plan):
            time.sleep(max(0.0, run_started + index / rate - time.monotonic()))
            futures.append(pool.submit(side.place, token, sku))
        ids = [future.result() for future in futures]
    await_terminal(outputs["OrdersTableName"], ids, timeout_s=300)
    await_quiet(background, quiet_s=5.0, timeout_s=120)
    run = probe_counts()
    run_s = time.monotonic() - run_started
    return {
        "orders": orders,
        "rate": rate,
        "idle_s": idle_s,
        "idle": idle,
        "run_s": run_s,
        "run": run,
        **transitions_since(started_at),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["follow", "count"])
    parser.add_argument("--outputs", type=Path, required=True, help="the side's outputs.json")
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.1, help="follow: poll every (s)")
    parser.add_argument("--long-poll", action="store_true", help="follow: alternate ?wait=20")
    parser.add_argument("--rate", type=float, default=3.0, help="count: orders offered per s")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--idle", type=float, default=20.0, help="count: idle window (s)")
    args = parser.parse_args(argv)
    outputs = read_outputs(args.outputs)
    side = SideApi.from_outputs(outputs)
    if args.mode == "follow":
        result = follow(side, args.orders, args.interval, args.long_poll)
    else:
        result = count(
            side,
            outputs=outputs,
            orders=args.orders,
            rate=args.rate,
            seed=args.seed,
            idle_s=args.idle,
        )
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
