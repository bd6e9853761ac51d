from collections.abc import Iterator

import pytest

import inventory.dal
from inventory.dal.repository import InventoryRepository
from inventory.handlers import list_products
from inventory.models import Product
from tests.unit.domain_common.fixtures import TABLE_ENV, create_rate_limit_table, create_table
from tests.unit.domain_common.seed import seed_products


@pytest.fixture(autouse=True)
def _fresh_inventory(aws_env: None) -> Iterator[None]:
    inventory.dal.reset()
    list_products.catalogue.cache_clear()
    yield
    inventory.dal.reset()
    list_products.catalogue.cache_clear()


@pytest.fixture
def products_table(mocked_aws: None) -> str:
    """The products table holding the seed catalogue (data/products.json)."""
    name = TABLE_ENV["PRODUCTS_TABLE"]
    create_table(name)
    create_rate_limit_table()  # GET /products runs the API edge's limiter
    repository = InventoryRepository(name)
    for product in seed_products():
        repository.put_product(Product.model_validate(product), overwrite=True)
    return name


@pytest.fixture
def repository(products_table: str) -> InventoryRepository:
    return InventoryRepository(products_table)
