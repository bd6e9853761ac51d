"""The load ``orderflow chaos run`` offers: orders through ``POST /orders`` at an open-loop rate
(arrivals never wait for earlier answers), with the usual token mix (as bench/orders.py: mostly
``tok_ok``, some ``tok_decline`` and ``tok_flaky``, some of a sold-out SKU), seeded.

The API is the stack's (output ``OrdersApiId``; through the emulator's execute-api path when
``AWS_ENDPOINT_URL`` is set, else ``OrdersApiUrl``), called with the demo premium plan's API
key, read from API Gateway as the README shows (the stack outputs only the key ids).
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from orderflow_cli.stack import StackRef, fail
from orderflow_cli.tokens import NoDevSigningKey, StageIssuer

MIX: list[tuple[str, str | None]] = [("tok_ok", None)] * 14
MIX += [("tok_decline", None)] * 3 + [("tok_flaky", None)] * 2
MIX += [("tok_ok", "SKU-OOS-008")]
PLENTIFUL = ["SKU-STK-004", "SKU-MUG-001", "SKU-NTB-006", "SKU-TEE-002", "SKU-CAP-003"]
KEY_PLAN = "premium"  # 50 requests/s: well above what a chaos run offers
WORKERS = 32
REQUEST_TIMEOUT_S = 30


@dataclass
class Post:
    """One ``POST /orders``: what was asked, what came back, how long it took."""

    token: str
    sku: str
    phase: str  # warm-up | before | during | after (the experiment's faults)
    posted_at: float  # epoch seconds
    latency_ms: float = 0.0
    status: int = 0  # HTTP status, 0: no answer
    order_id: str | None = None
    error: str = ""


def plan(orders: int, seed: int) -> list[tuple[str, str]]:
    """``orders`` (token, sku) pairs of the mix, the same for the same seed."""
    rng = random.Random(seed)
    return [(token, sku or rng.choice(PLENTIFUL)) for token, sku in rng.choices(MIX, k=orders)]


def api_url(stack: StackRef) -> str:
    """The orders API's stage URL: offline, the emulator's path that resolves without DNS."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    url = stack.output("OrdersApiUrl").rstrip("/")
    if not endpoint:
        return url
    stage = url.rsplit("/", 1)[-1]
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{stack.output('OrdersApiId')}/{stage}"


def customer_token(stack: StackRef, customer: str) -> str:
    """A token naming ``customer``, minted with the stage's dev signing key."""
    try:
        return StageIssuer.from_outputs(stack.outputs, stack.client("secretsmanager")).token(
            customer
        )
    except NoDevSigningKey as error:
        fail(f"chaos places orders as a customer: {error}")


def api_key(stack: StackRef) -> str:
    key_id = stack.output(f"Demo{KEY_PLAN.title()}ApiKeyId")
    value: str = stack.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]
    return value


class Orders:
    """Places orders for one customer id (the run's: its orders are found by it too), with a
    customer token minted for it by the stage's dev signing key (a token lives an hour; a
    chaos run lasts minutes)."""

    def __init__(self, url: str, key: str, customer: str, bearer: str) -> None:
        self.url, self.key, self.customer, self.bearer = url, key, customer, bearer

    def place(self, token: str, sku: str, phase: str) -> Post:
        body = {
            "items": [{"sku": sku, "quantity": 1}],
            "paymentToken": token,
        }
        post = Post(token, sku, phase, time.time())
        request = urllib.request.Request(
            f"{self.url}/orders",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "x-api-key": self.key,
                "authorization": f"Bearer {self.bearer}",
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                post.status, payload = answer.status, _json(answer.read())
        except urllib.error.HTTPError as error:
            post.status, payload = error.code, _json(error.read())
        except OSError as error:  # no answer (timeout, connection refused)
            post.error = str(error)
            payload = None
        post.latency_ms = (time.perf_counter() - started) * 1000
        if post.status == 202 and isinstance(payload, dict):
            post.order_id = payload.get("orderId")
        elif post.status:
            post.error = str(payload)[:200]
        return post


def _json(content: bytes) -> Any:
    try:
        return json.loads(content or b"null")
    except ValueError:
        return content.decode(errors="replace")


def offer(
    orders: Orders,
    planned: list[tuple[str, str]],
    rate: float,
    phase: Callable[[], str],
) -> list[Post]:
    """POST the planned orders at ``rate`` per second whatever the answers take (open loop);
    each is labelled with ``phase()`` as it is sent."""
    started = time.monotonic()
    futures: list[Future[Post]] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for index, (token, sku) in enumerate(planned):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            futures.append(pool.submit(orders.place, token, sku, phase()))
    return [future.result() for future in futures]


def check_rate(rate: float) -> None:
    if not rate > 0:
        fail(f"--rate must be more than 0 orders per second, got {rate:g}")
