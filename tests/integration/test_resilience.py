"""On the emulator: the payment provider's circuit breaker through an
outage, and the bulkheads (reserved concurrency, a slow provider not slowing order intake).

The provider's mode is the deployed SSM parameter, changed the way an operator would
(``aws ssm put-parameter --overwrite``); a finalizer always puts it back to ``up``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.clients import client
from emulator.next_steps import local_api_url
from infra.config import DeploymentConfig
from orderflow_cli.tokens import StageIssuer
from tests.integration.support import KeyedApi, eventually, stocked_product
from tests.integration.test_order_fulfilment import place, settled

RESILIENCE = DeploymentConfig().resilience  # what `make deploy` deployed (the dev stage)
BREAKER_KEY = {"pk": {"S": "BREAKER#payment-provider"}, "sk": {"S": "BREAKER"}}
SAGA_RETRIES = 5
"""AuthorizePayment is tried 1 + 5 times (infra/saga.py TRANSIENT_RETRY) before compensating."""


@pytest.fixture(scope="module")
def api(outputs: dict[str, str], api_keys: dict[str, str], stage_issuer: StageIssuer) -> KeyedApi:
    return KeyedApi(
        local_api_url(outputs["OrdersApiId"]), api_keys["premium"], "it-resilience", stage_issuer
    )


@pytest.fixture
def sku(lambda_client: Any, outputs: dict[str, str]) -> str:
    return stocked_product(lambda_client, outputs, price="12.50", available=100)


@pytest.fixture
def provider_mode(outputs: dict[str, str]) -> Iterator[Callable[[str], None]]:
    """Sets the provider's mode; puts it back to ``up`` whatever the test did."""
    ssm = client("ssm")
    name = outputs["ProviderModeParameterName"]

    def set_mode(mode: str) -> None:
        ssm.put_parameter(Name=name, Value=mode, Type="String", Overwrite=True)

    try:
        yield set_mode
    finally:
        set_mode("up")


def breaker(outputs: dict[str, str]) -> dict[str, Any]:
    """The breaker's item (state, failures, opens, probes, ...), or {} before its first write."""
    item = (
        client("dynamodb")
        .get_item(TableName=outputs["PaymentsTableName"], Key=BREAKER_KEY, ConsistentRead=True)
        .get("Item", {})
    )
    return {key: next(iter(value.values())) for key, value in item.items()}


def counter(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, 0))


def provider_calls(outputs: dict[str, str], order_id: str) -> int:
    """How many times the provider was called for the order (it counts every call)."""
    item = (
        client("dynamodb")
        .get_item(
            TableName=outputs["PaymentsTableName"],
            Key={"pk": {"S": f"PROVIDER#{order_id}"}, "sk": {"S": "ATTEMPTS"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return 0 if item is None else int(item["attempts"]["N"])


def test_an_outage_opens_the_breaker_and_no_order_is_left_pending(
    api: KeyedApi,
    outputs: dict[str, str],
    sku: str,
    provider_mode: Callable[[str], None],
) -> None:
    before = breaker(outputs)
    # Given the provider goes down, and orders keep coming
    provider_mode("down")
    first = [place(api, sku) for _ in range(RESILIENCE.breaker.failure_threshold + 1)]

    # When the breaker has opened (again: an earlier run may have left it open)
    def reopened() -> dict[str, Any] | None:
        item = breaker(outputs)
        return item if counter(item, "opens") > counter(before, "opens") else None

    opened = eventually(reopened, timeout_s=60)
    assert opened["state"] in {"OPEN", "HALF_OPEN"}, opened
    during = [place(api, sku) for _ in range(4)]

    # Then every order ends: those placed while it was open are cancelled PAYMENT_UNAVAILABLE
    # once the saga's retries are spent; the first ones too, unless an execution environment
    # still held the mode `up` (cached 2 s) when it authorised them
    outcomes = {order_id: settled(api, order_id, timeout_s=90) for order_id in first + during}
    for order_id in during:
        assert (outcomes[order_id]["status"], outcomes[order_id]["reason"]) == (
            "CANCELLED",
            "PAYMENT_UNAVAILABLE",
        ), outcomes[order_id]
    for order_id in first:
        order = outcomes[order_id]
        assert order["status"] == "CONFIRMED" or order["reason"] == "PAYMENT_UNAVAILABLE", order

    # and the provider was called a bounded number of times, not once per saga attempt: the
    # failures that opened it (at most the threshold, plus calls already in flight: at most
    # AuthorizePayment's reserved concurrency), one per probe, one per order authorised
    after = breaker(outputs)
    probes = counter(after, "probes") - counter(before, "probes")
    calls = sum(provider_calls(outputs, order_id) for order_id in first + during)
    confirmed = sum(order["status"] == "CONFIRMED" for order in outcomes.values())
    bound = (
        RESILIENCE.breaker.failure_threshold
        + RESILIENCE.bulkheads.authorize_payment
        + probes
        + confirmed
    )
    without_breaker = (1 + SAGA_RETRIES) * len(first + during)
    assert calls <= bound < without_breaker, (calls, bound, probes, after)

    # When the provider is back, a new order is paid (after at most a cool-down and a probe)
    provider_mode("up")

    def paid_order() -> dict[str, Any] | None:
        order = settled(api, place(api, sku), timeout_s=90)
        return order if order["status"] == "CONFIRMED" else None

    eventually(paid_order, timeout_s=100, every_s=0)
    assert breaker(outputs)["state"] == "CLOSED"


def test_a_slow_provider_does_not_slow_order_intake(
    api: KeyedApi,
    outputs: dict[str, str],
    sku: str,
    provider_mode: Callable[[str], None],
) -> None:
    def intake_latency() -> tuple[float, str]:
        started = time.perf_counter()
        order_id = place(api, sku)
        return time.perf_counter() - started, order_id

    place(api, sku)  # warm POST /orders up (a cold start is not what is measured)
    # Given POST /orders' latency with the provider up
    up = [intake_latency() for _ in range(5)]
    # When the provider turns slow: sagas' calls are held to the 1.5 s deadline until the
    # breaker opens, then one probe per cool-down is (AuthorizePayment's reservation bounds them)
    before = counter(breaker(outputs), "opens")
    provider_mode("slow")
    load = [intake_latency() for _ in range(3)]

    def slow_calls_happened() -> bool:
        if counter(breaker(outputs), "opens") > before:
            return True
        load.append(intake_latency())  # more sagas, until enough calls met the slow mode
        return False

    eventually(slow_calls_happened, timeout_s=60, every_s=1)
    slow = [intake_latency() for _ in range(5)]
    # Then intake answers 202 (place() checks) about as fast as with the provider up
    up_median = statistics.median(latency for latency, _ in up)
    slow_median = statistics.median(latency for latency, _ in slow)
    assert slow_median <= 3 * up_median + 0.5, (up_median, slow_median)

    # and, with the provider back, every order ends (none stays PENDING)
    provider_mode("up")
    for _, order_id in up + load + slow:
        assert settled(api, order_id, timeout_s=90)["status"] in {"CONFIRMED", "CANCELLED"}


def test_reserved_concurrency_is_deployed_and_enforced(
    lambda_client: Any, make_function: Callable[..., str]
) -> None:
    # The deployed bulkheads: every function the template reserves for has its reservation
    reserved = {}
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            name = function["FunctionName"]
            if name.startswith("Orderflow-"):
                concurrency = lambda_client.get_function_concurrency(FunctionName=name)
                if "ReservedConcurrentExecutions" in concurrency:
                    reserved[name] = concurrency["ReservedConcurrentExecutions"]
    authorize = [value for name, value in reserved.items() if "PaymentsAuthor" in name]
    assert authorize == [RESILIENCE.bulkheads.authorize_payment], reserved
    # authorize, void, GetOrder's cap on long polls, and eight queue consumers: five, the
    # webhooks' fan-out and deliverer, the sandbox provider's callback
    assert len(reserved) == 11, reserved

    # And the emulator throttles beyond a reservation: 2 reserved, 4 concurrent 2 s calls
    name = make_function(timeout=10)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    lambda_client.invoke(FunctionName=name, Payload=b"{}")  # cold start outside the race
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def call() -> None:
        start.wait()
        try:
            lambda_client.invoke(FunctionName=name, Payload=b'{"sleep": 2}')
            outcomes.append("ran")
        except lambda_client.exceptions.TooManyRequestsException:
            outcomes.append("throttled")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ran", "ran", "throttled", "throttled"]
