"""Following an order: plain polling vs long polling, on the embedded emulator.

Places N orders one after the other through `POST /orders`; each is followed at once by two
clients, side by side, until it is CONFIRMED or CANCELLED:

- a poller: `GET /orders/{id}` every `--interval` seconds (1 s), `If-None-Match` the last ETag;
- a long poller: `GET /orders/{id}?wait=20` with `If-None-Match`, again as soon as answered.

Reported per client: requests per order, and the time from the POST until the client saw the
terminal status (median, max); and how much later than the long poller the poller saw it.

    make deploy && .venvs/dev/bin/python -m bench.follow --orders 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from emulator.next_steps import local_api_url
from tests.integration.support import KeyedApi, demo_api_key

ROOT = Path(__file__).resolve().parent.parent
ORDER = {"customerId": "bench-follow", "items": [{"sku": "SKU-MUG-001", "quantity": 1}]}
TERMINAL = {"CONFIRMED", "CANCELLED"}
GIVE_UP_S = 120.0


@dataclass
class Followed:
    requests: int = 0
    not_modified: int = 0
    seen_s: float | None = None  # after the POST


def follow(
    api: KeyedApi, order_id: str, start: float, *, wait: int | None, interval: float
) -> Followed:
    followed = Followed()
    etag: str | None = None
    path = f"/orders/{order_id}" + (f"?wait={wait}" if wait else "")
    while time.monotonic() - start < GIVE_UP_S:
        headers = {"If-None-Match": etag} if etag else None
        answer = api.request("GET", path, headers=headers)
        followed.requests += 1
        if answer.status == 304:
            followed.not_modified += 1
        elif answer.status == 200:
            etag = answer.headers["ETag"]
            if answer.body["status"] in TERMINAL:
                followed.seen_s = time.monotonic() - start
                return followed
        if not wait:
            time.sleep(interval)
    return followed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    outputs = {
        k: v
        for stack in json.loads((ROOT / "outputs.json").read_text()).values()
        for k, v in stack.items()
    }
    api = KeyedApi(local_api_url(outputs["OrdersApiId"]), demo_api_key(outputs, "premium"))
    results: dict[str, list[Followed]] = {"poll": [], "long poll": []}
    for _ in range(args.orders):
        start = time.monotonic()
        status, body = api.http("POST", "/orders", {**ORDER, "paymentToken": "tok_ok"})
        assert status == 202, body
        order_id = body["orderId"]
        with ThreadPoolExecutor(max_workers=2) as pool:
            poller = pool.submit(follow, api, order_id, start, wait=None, interval=args.interval)
            long_poller = pool.submit(follow, api, order_id, start, wait=20, interval=0)
            results["poll"].append(poller.result())
            results["long poll"].append(long_poller.result())

    print(f"{args.orders} orders, poller every {args.interval:g} s, long poller wait=20\n")
    print(
        "| client | requests per order (median, max) | of which 304 "
        "| saw the outcome after the POST (median, max) |"
    )
    print("|---|---|---|---|")
    for name, runs in results.items():
        requests = [r.requests for r in runs]
        seen = [r.seen_s for r in runs if r.seen_s is not None]
        print(
            f"| {name} | {statistics.median(requests):g}, {max(requests)} "
            f"| {sum(r.not_modified for r in runs)} "
            f"| {statistics.median(seen):.2f} s, {max(seen):.2f} s |"
        )
    lags = [
        p.seen_s - lp.seen_s
        for p, lp in zip(results["poll"], results["long poll"], strict=True)
        if p.seen_s is not None and lp.seen_s is not None
    ]
    print(
        f"\nthe poller saw the outcome {statistics.median(lags):+.2f} s (median) after the long "
        f"poller (min {min(lags):+.2f} s, max {max(lags):+.2f} s)"
    )


if __name__ == "__main__":
    main()
