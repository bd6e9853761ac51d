"""CloudFormation custom resource (CDK `custom_resources.Provider` onEvent) seeding products.

ResourceProperties: {"Products": [{sku, name, price, available, hot?, shards?}, ...],
"Overwrite": "false", "Restock": [{sku, quantity}, ...]?} (CloudFormation turns every value
into a string; the model converts them back).

* Create / Update: insert every product that is absent. An existing product keeps its stock
  counters (a redeploy never resets live stock) and gets the seed's name and price, unless
  Overwrite is "true", which writes the seed over it, stock included.
  Then one ProductPriced per product (its price and new price version) goes to the bus: every
  deployment re-publishes the whole catalogue, which is how orders' copy of the prices is
  built and rebuilt. A publish that fails fails the request (the deployment).
* A product with `hot: true` (and optionally `shards`, else the stage's STOCK_SHARDS) keeps its
  stock on shard items: a new one is spread over them, an existing one's available units move
  into them in one transaction (none lost or created). A hot SKU stays hot.
* `Restock` adds units to existing products (spread over the shards of a hot SKU): invoking
  this function with it is the operator's way to replenish stock.
* Delete: no-op; the table's own removal policy decides what happens to the data.

Returns {"PhysicalResourceId", "Data": {"Inserted", "Total"}}; the Provider answers
CloudFormation.
"""

import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, model_validator

from inventory.dal import get_publisher, get_repository
from inventory.logic.catalogue import seed_catalogue
from inventory.models import SeedProduct
from inventory.settings import get_settings
from shared_kernel.models import OrderLine
from shared_kernel.observability import logger


class SeedProperties(BaseModel):
    products: list[SeedProduct] = Field(default_factory=list, alias="Products")
    overwrite: bool = Field(default=False, alias="Overwrite")
    restock: list[OrderLine] = Field(default_factory=list, alias="Restock")

    @model_validator(mode="after")
    def _something_to_do(self) -> "SeedProperties":
        if not self.products and not self.restock:
            raise ValueError("Products (or Restock) needs at least one entry")
        return self


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_type = event["RequestType"]
    table = get_settings().products_table
    physical_id = event.get("PhysicalResourceId") or f"products-seed-{table}"
    if request_type == "Delete":
        logger.info("delete: leaving products in place")
        return {"PhysicalResourceId": physical_id}
    if request_type not in ("Create", "Update"):
        raise ValueError(f"unsupported RequestType {request_type!r}")
    properties = SeedProperties.model_validate(event.get("ResourceProperties", {}))
    result = seed_catalogue(
        properties.products,
        overwrite=properties.overwrite,
        store=get_repository(),
        bus=get_publisher(),
        correlation_id=event.get("RequestId") or str(uuid.uuid4()),
        default_shards=get_settings().stock_shards,
        restock=properties.restock,
    )
    logger.info("products seeded and priced", extra=result.model_dump())
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"Inserted": result.inserted, "Total": result.total},
    }
