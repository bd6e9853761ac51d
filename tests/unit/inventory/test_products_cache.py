"""GET /products' caching: the in-memory copy of the catalogue (TTL), ETag, Cache-Control and
304 (inventory/logic/catalogue_cache.py, inventory/handlers/list_products.py), on moto."""

from collections.abc import Iterator
from typing import Any

import pytest

from inventory.dal import get_repository
from inventory.dal.repository import InventoryRepository
from inventory.handlers import list_products
from inventory.logic.catalogue_cache import CachedCatalogue
from inventory.models import Product
from tests.unit.domain_common.apigw import api_event, json_body

MUG = "SKU-MUG-001"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def ttl(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("CATALOGUE_TTL_SECONDS", "30")
    monkeypatch.setenv("PRODUCTS_MAX_AGE_SECONDS", "5")
    return 30


@pytest.fixture
def scans(products_table: str, ttl: int) -> Iterator[list[str]]:
    """The DynamoDB operations the handler's repository calls."""
    calls: list[str] = []
    client = get_repository()._table.meta.client

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", count)
    yield calls
    client.meta.events.unregister("before-call.dynamodb.*", count)


class Installed:
    """Stands in for the handler's ``catalogue()``: a copy driven by a test's clock."""

    def __init__(self, cached: CachedCatalogue) -> None:
        self.cached = cached

    def __call__(self) -> CachedCatalogue:
        return self.cached

    def cache_clear(self) -> None:
        pass


def get(lambda_context, *, known: str | None = None, query: dict[str, str] | None = None):
    headers = {"If-None-Match": known} if known else None
    return list_products.handler(
        api_event("GET", "/products", headers=headers, query=query), lambda_context
    )


def header(response: dict, name: str) -> str | None:
    values = (response.get("multiValueHeaders") or {}).get(name)
    return values[0] if values else (response.get("headers") or {}).get(name)


def set_available(repository: InventoryRepository, sku: str, available: int) -> None:
    repository._table.update_item(
        Key={"pk": f"SKU#{sku}", "sk": "PRODUCT"},
        UpdateExpression="SET available = :a",
        ExpressionAttributeValues={":a": available},
    )


# -- the in-memory copy ----------------------------------------------------------------------


class Source:
    def __init__(self) -> None:
        self.reads = 0

    def list_products(self) -> list[Product]:
        self.reads += 1
        return [Product(sku=MUG, name="mug", price="12.50", available=self.reads)]


def test_two_requests_within_the_ttl_read_the_table_once_and_after_it_again():
    source, clock = Source(), Clock()
    cached = CachedCatalogue(source, ttl_s=30, clock=clock)
    first = cached.products()
    clock.t += 29.9
    assert cached.products() == first and source.reads == 1
    clock.t += 0.1
    assert cached.products()[0].available == 2 and source.reads == 2


def test_a_ttl_of_zero_reads_every_time():
    source = Source()
    cached = CachedCatalogue(source, ttl_s=0, clock=Clock())
    cached.products()
    cached.products()
    assert source.reads == 2


def test_the_handler_scans_once_per_ttl(lambda_context, scans, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(
        list_products, "catalogue", Installed(CachedCatalogue(get_repository(), 30, clock))
    )
    get(lambda_context)
    get(lambda_context, query={"inStock": "true"})
    assert scans.count("Scan") == 1
    clock.t += 30
    get(lambda_context)
    assert scans.count("Scan") == 2


def test_a_change_in_the_table_shows_once_the_ttl_has_passed(
    lambda_context, repository, ttl, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(
        list_products, "catalogue", Installed(CachedCatalogue(get_repository(), ttl, clock))
    )
    before = json_body(get(lambda_context))
    set_available(repository, MUG, 7)
    assert json_body(get(lambda_context)) == before  # within the TTL: the copy
    clock.t += ttl
    mug = next(p for p in json_body(get(lambda_context))["products"] if p["sku"] == MUG)
    assert mug["available"] == 7


# -- ETag, Cache-Control, 304 ----------------------------------------------------------------


def test_every_200_has_an_etag_of_the_body_and_cache_control(lambda_context, products_table, ttl):
    response = get(lambda_context)
    assert response["statusCode"] == 200
    assert header(response, "Cache-Control") == "public, max-age=5"
    etag = header(response, "ETag")
    assert etag is not None and etag.startswith('"')
    # the same body, the same ETag (another environment: a fresh copy of the catalogue)
    list_products.catalogue.cache_clear()
    assert header(get(lambda_context), "ETag") == etag
    # another body (in stock only), another ETag
    assert header(get(lambda_context, query={"inStock": "true"}), "ETag") != etag


def test_if_none_match_naming_the_etag_is_a_304_without_a_body(lambda_context, products_table, ttl):
    etag = header(get(lambda_context), "ETag")
    response = get(lambda_context, known=etag)
    assert response["statusCode"] == 304
    assert not response.get("body")
    assert header(response, "ETag") == etag
    assert header(response, "Cache-Control") == "public, max-age=5"


def test_if_none_match_naming_an_old_etag_gets_the_new_catalogue(lambda_context, repository, ttl):
    etag = header(get(lambda_context), "ETag")
    set_available(repository, MUG, 3)
    list_products.catalogue.cache_clear()  # the TTL passed
    response = get(lambda_context, known=etag)
    assert response["statusCode"] == 200
    assert header(response, "ETag") != etag
