"""Helpers shared by the integration tests."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

from emulator.clients import client, endpoint
from orderflow_cli.tokens import StageIssuer
from orderflow_hostexec.time_scale import TIME_SCALE_PATH


def zipped(*files: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            archive.write(file, file.name)
    return buffer.getvalue()


def invoke(lambda_client: Any, name: str, event: dict[str, Any] | None = None) -> tuple[dict, Any]:
    """Invoke synchronously; returns (response metadata, decoded payload)."""
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return response, json.loads(response["Payload"].read())


def eventually[T](probe: Callable[[], T | None], timeout_s: float = 30, every_s: float = 0.5) -> T:
    """Poll until ``probe`` returns something truthy; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last value: {value!r})")
        time.sleep(every_s)


API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message  # case-insensitive: answer.headers["retry-after"]
    body: Any


def request(
    method: str,
    url: str,
    body: Any = None,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: str | bytes | None = None,
) -> Answer:
    """One HTTP request; ``body`` is sent as JSON, ``raw`` as is; ``api_key`` as ``x-api-key``."""
    data = raw.encode() if isinstance(raw, str) else raw
    if data is None and body is not None:
        data = json.dumps(body).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    if api_key is not None:
        sent[API_KEY_HEADER] = api_key
    prepared = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return Answer(response.status, response.headers, _json(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, _json(error.read()))


def http(method: str, url: str, body: Any = None, *, api_key: str | None = None) -> tuple[int, Any]:
    answer = request(method, url, body, api_key=api_key)
    return answer.status, answer.body


def _json(content: bytes) -> Any:
    try:
        return json.loads(content or b"null")
    except ValueError:
        return content.decode(errors="replace")


@dataclass(frozen=True)
class KeyedApi:
    """A deployed API stage (``url``) called with one client's API key and, when ``customer``
    is set, as that customer: a fresh token minted with the stage's dev signing key
    (``issuer``) in ``Authorization: Bearer`` (unless the request sends its own)."""

    url: str
    api_key: str
    customer: str | None = None
    issuer: StageIssuer | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        sent = dict(headers or {})
        if self.customer is not None and not any(k.lower() == "authorization" for k in sent):
            assert self.issuer is not None, "a customer's requests need the stage's issuer"
            sent["Authorization"] = f"Bearer {self.issuer.token(self.customer)}"
        return request(
            method, f"{self.url}{path}", body, api_key=self.api_key, headers=sent, **kwargs
        )

    def as_customer(self, customer: str | None) -> KeyedApi:
        """The same client acting for another customer (None: no token)."""
        return replace(self, customer=customer)

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        answer = self.request(method, path, body)
        return answer.status, answer.body


def customer_of(entry: Mapping[str, Any]) -> str:
    """The customer of an order event sent straight to the bus (a ``put_events`` entry): the
    one whose token may read the order."""
    customer: str = json.loads(entry["Detail"])["data"]["customerId"]
    return customer


def demo_api_key(outputs: Mapping[str, str], plan: str) -> str:
    """The value of the demo API key on ``plan`` (``basic``, ``premium``), read from API
    Gateway as the README shows: the stack outputs only the key ids."""
    key_id = outputs[f"Demo{plan.title()}ApiKeyId"]
    value: str = client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]
    return value


def catalogue_copy(outputs: Mapping[str, str], sku: str) -> dict[str, Any] | None:
    """Orders' copy of `sku`'s price (price, priceVersion), or None."""
    response = client("dynamodb").get_item(
        TableName=outputs["OrdersTableName"],
        Key={"pk": {"S": f"CATALOGUE#{sku}"}, "sk": {"S": "PRICE"}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return None
    return {"price": Decimal(item["price"]["N"]), "priceVersion": int(item["priceVersion"]["N"])}


def seed_product(
    lambda_client: Any, outputs: Mapping[str, str], sku: str, price: str, available: int = 50
) -> None:
    """Set a product's price and stock in inventory the way a deployment does: the seed's
    Update (which publishes ProductPriced for orders' copy)."""
    product = {"sku": sku, "name": "Integration test product", "price": price}
    request = {
        "RequestType": "Update",
        "PhysicalResourceId": "products-seed-it",
        "ResourceProperties": {"Products": [{**product, "available": str(available)}]},
    }
    response, payload = invoke(lambda_client, outputs["SeedProductsFunctionName"], request)
    assert "FunctionError" not in response, payload


def stocked_product(
    lambda_client: Any, outputs: Mapping[str, str], price: str = "12.50", available: int = 100
) -> str:
    """A SKU of the calling test's own, stocked and priced, once orders can price it: a test
    that orders it does not depend on how much stock earlier tests (or earlier runs on the same
    emulator) left of a seeded product."""
    sku = f"SKU-IT-{uuid.uuid4().hex[:10].upper()}"
    seed_product(lambda_client, outputs, sku, price, available)
    eventually(lambda: catalogue_copy(outputs, sku), timeout_s=30, every_s=0.25)
    return sku


def time_scale(factor: float | None = None) -> float:
    """Read (or set, then read) the emulator's Step Functions time scale
    (``POST /_orderflow/time-scale``, docs/resilience/timeouts.md)."""
    data = None if factor is None else json.dumps({"factor": factor}).encode()
    with urllib.request.urlopen(
        urllib.request.Request(f"{endpoint()}{TIME_SCALE_PATH}", data=data), timeout=10
    ) as answer:
        return float(json.load(answer)["factor"])


@contextmanager
def scaled_time(factor: float) -> Iterator[float]:
    """Step Functions time runs ``1 / factor`` times faster inside; real time again after."""
    assert time_scale(factor) == factor
    try:
        yield factor
    finally:
        assert time_scale(1) == 1.0


# -- hot SKUs (write-sharded stock, docs/performance/hot-skus.md) ----------------------------------


def hot_stocked_product(
    lambda_client: Any,
    outputs: Mapping[str, str],
    available: int,
    *,
    shards: int | None = None,
    price: str = "12.50",
    sku: str | None = None,
) -> str:
    """A fresh SKU (`sku`, or a new one) with `available` units, priced in orders' copy:
    sharded over `shards` shard items (None: the stage's default count), or not sharded when
    `shards` is 0."""
    sku = sku or f"SKU-HOT-{uuid.uuid4().hex[:10].upper()}"
    product: dict[str, Any] = {
        "sku": sku,
        "name": "Flash sale product",
        "price": price,
        "available": str(available),
    }
    if shards != 0:
        product["hot"] = "true"
        if shards is not None:
            product["shards"] = str(shards)
    request = {
        "RequestType": "Update",
        "PhysicalResourceId": "products-seed-it",
        "ResourceProperties": {"Products": [product]},
    }
    response, payload = invoke(lambda_client, outputs["SeedProductsFunctionName"], request)
    assert "FunctionError" not in response, payload
    eventually(lambda: catalogue_copy(outputs, sku), timeout_s=30, every_s=0.25)
    return sku


def stock_items(outputs: Mapping[str, str], sku: str) -> list[dict[str, int]]:
    """The counters (available, reserved, sold) of `sku`'s product item, then of each of its
    shard items, read consistently."""
    dynamodb = client("dynamodb")
    table = outputs["ProductsTableName"]
    product = dynamodb.get_item(
        TableName=table,
        Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "PRODUCT"}},
        ConsistentRead=True,
    )["Item"]
    keys = [f"SHARD#{sku}#{shard}" for shard in range(int(product.get("shards", {"N": "0"})["N"]))]
    items = [product]
    for pk in keys:
        key = {"pk": {"S": pk}, "sk": {"S": "SHARD"}}
        items.append(dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    return [
        {name: int(item.get(name, {"N": "0"})["N"]) for name in ("available", "reserved", "sold")}
        for item in items
    ]
