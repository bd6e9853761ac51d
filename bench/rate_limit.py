"""The API edge's rate limiter on the embedded emulator: requests offered vs admitted for one
key against its plan's configured rate, and the limiter's added latency per request.

1. Admission: for ``--seconds`` (30) one key is offered ``--offered`` requests/s (open loop:
   each request leaves at its scheduled time, whatever the answers) on ``GET /products``.
   Offered is what actually left (the emulator may not keep up with the schedule); the run is
   bounded: nothing leaves after ``--seconds``. Admitted/configured is reported over the whole
   run (the first burst included) and over the sustained part (after the first
   ``burst / rate`` seconds, when the burst is spent).
2. Latency: ``GET /products`` of the orders API (limiter on) and of the baseline API (same
   handler and gateway, limiter off), alternated one request at a time, paced well under the
   plan's rate so that every request is admitted (the premium key by default). The difference
   of the medians is the limiter's cost: one conditional UpdateItem per request. For scale, the
   same UpdateItem sent straight to the emulator's DynamoDB from this process.

    make bench      # deploys Orderflow and OrderflowBench (the baseline API), runs every benchmark
    .venvs/dev/bin/python -m bench.rate_limit --plan basic --offered 20   # then, this one again

The admission run needs an emulator that can serve more than the plan's rate: on a 2-core
machine it serves about 45 requests/s through API Gateway, Lambda and DynamoDB, under the
premium plan's 50, so the default is the basic plan (5/s) offered 20/s.

Loopback only (the emulator on 127.0.0.1); nothing else is contacted.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass

from bench.orders import outputs
from bench.stats import summary, table
from emulator.clients import client
from emulator.next_steps import local_api_url
from infra.plans import DEFAULT_USAGE_PLANS
from tests.integration.support import demo_api_key, request


@dataclass(frozen=True)
class Sent:
    at: float  # seconds since the start of the run
    status: int


def wait_full(url: str, key: str) -> None:
    """Until the key's bucket is full again (what an earlier run or test left)."""
    answer = request("GET", url, api_key=key)
    if answer.status == 429:
        time.sleep(int(answer.headers["Retry-After"]))
        answer = request("GET", url, api_key=key)
    time.sleep(int(answer.headers.get("RateLimit-Reset") or 0) + 0.2)


def offer(url: str, key: str, rate: float, seconds: float, workers: int) -> list[Sent]:
    """Open loop, bounded: request i is due at start + i / rate and leaves as soon as a worker
    is free; nothing leaves after ``seconds``. Returns when the last answer is in."""
    sent: list[Sent] = []
    lock = threading.Lock()
    due = itertools.count()
    start = time.perf_counter()

    def worker() -> None:
        while True:
            with lock:
                at = next(due) / rate
            if at >= seconds:
                return
            time.sleep(max(0.0, start + at - time.perf_counter()))
            left = time.perf_counter() - start
            if left >= seconds:
                return
            status = request("GET", url, api_key=key).status
            with lock:
                sent.append(Sent(left, status))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(sent, key=lambda s: s.at)


def latencies(
    limited: str, baseline: str, key: str, count: int, pace_s: float
) -> tuple[list[float], list[float]]:
    on: list[float] = []
    off: list[float] = []
    for i in range(count * 2):
        url, samples = (limited, on) if i % 2 == 0 else (baseline, off)
        started = time.perf_counter()
        answer = request("GET", url, api_key=key)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}: {answer.body}")
        samples.append(elapsed)
        time.sleep(pace_s)
    return on, off


def update_item_floor(table: str, count: int) -> list[float]:
    """The limiter's UpdateItem (a full bucket, a new day), sent ``count`` times from here."""
    dynamodb = client("dynamodb")
    samples = []
    for i in range(count):
        now = time.time_ns() // 1000
        started = time.perf_counter()
        dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": f"KEY#bench-floor-{i}"}},
            UpdateExpression="SET tat = :next, expiresAt = :expires, quotaDay = :day, "
            "quotaUsed = :one",
            ConditionExpression="(attribute_not_exists(tat) OR tat <= :now) AND "
            "(attribute_not_exists(quotaDay) OR quotaDay <> :day)",
            ExpressionAttributeValues={
                ":next": {"N": str(now + 20_000)},
                ":now": {"N": str(now)},
                ":expires": {"N": str(now // 1_000_000 + 600)},
                ":day": {"S": "bench"},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    plans = [p.name for p in DEFAULT_USAGE_PLANS]
    parser.add_argument("--plan", default="basic", choices=plans, help="the admission run's")
    parser.add_argument("--offered", type=float, default=20.0, help="requests/s offered")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency-plan", default="premium", choices=plans)
    parser.add_argument("--latency-samples", type=int, default=300)
    args = parser.parse_args()

    out = outputs()
    plan = next(p for p in DEFAULT_USAGE_PLANS if p.name == args.plan)
    key = demo_api_key(out, plan.name)
    limited = f"{local_api_url(out['OrdersApiId'])}/products"
    if "BaselineApiId" not in out:
        raise SystemExit("no BaselineApiId in outputs.json: deploy OrderflowBench (make bench)")
    baseline = f"{local_api_url(out['BaselineApiId'])}/products"

    # 2. latency first, on a full bucket, the limited route paced at half the plan's rate
    latency_plan = next(p for p in DEFAULT_USAGE_PLANS if p.name == args.latency_plan)
    latency_key = demo_api_key(out, latency_plan.name)
    wait_full(limited, latency_key)
    for url in (limited, baseline):  # warm both functions' execution environments
        request("GET", url, api_key=latency_key)
    on, off = latencies(
        limited, baseline, latency_key, args.latency_samples, 1 / latency_plan.rate_limit
    )

    floor = update_item_floor(out["RateLimitTableName"], args.latency_samples)

    # 1. admission
    wait_full(limited, key)
    sent = offer(limited, key, args.offered, args.seconds, args.workers)
    duration = args.seconds
    statuses = Counter(s.status for s in sent)
    admitted = statuses[200]
    burst_s = plan.burst_limit / plan.rate_limit
    sustained = [s for s in sent if s.at >= burst_s]
    sustained_admitted = sum(s.status == 200 for s in sustained)
    sustained_s = duration - burst_s

    print(f"plan {plan.name}: {plan.rate_limit:g} requests/s, bursts of {plan.burst_limit}\n")
    print("| run | offered (req/s) | admitted (req/s) | admitted / configured |")
    print("|---|---:|---:|---:|")
    print(
        f"| whole run, {duration:.0f} s (first burst included) | {len(sent) / duration:.1f} "
        f"| {admitted / duration:.2f} | {admitted / duration / plan.rate_limit:.3f} |"
    )
    print(
        f"| sustained, last {sustained_s:.0f} s | {len(sustained) / sustained_s:.1f} "
        f"| {sustained_admitted / sustained_s:.2f} "
        f"| {sustained_admitted / sustained_s / plan.rate_limit:.3f} |"
    )
    print(f"\nanswers: {dict(sorted(statuses.items()))}")
    print(
        f"bound: admitted {admitted} <= burst + rate x {duration:.0f} s = "
        f"{plan.burst_limit + plan.rate_limit * duration:.0f}\n"
    )
    print(
        table(
            [
                ("GET /products, limiter off (baseline API)", summary(off)),
                ("GET /products, limiter on (orders API)", summary(on)),
                ("the limiter's UpdateItem alone, from the host", summary(floor)),
            ]
        )
    )
    p50_on, p50_off = summary(on)["p50"], summary(off)["p50"]
    print(f"\nlimiter's added latency, p50: {p50_on - p50_off:.2f} ms ({p50_on / p50_off:.2f}x)")


if __name__ == "__main__":
    main()
