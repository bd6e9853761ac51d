"""CloudFormation custom resource (CDK `custom_resources.Provider` onEvent) seeding products.

ResourceProperties: {"Products": [{sku, name, price, available}, ...], "Overwrite": "false"}
(CloudFormation turns every value into a string; the model converts them back).

* Create / Update: insert every product that is absent. An existing product keeps its stock
  counters (a redeploy never resets live stock) and gets the seed's name and price, unless
  Overwrite is "true", which writes the seed over it, stock included.
* Delete: no-op; the table's own removal policy decides what happens to the data.

Returns {"PhysicalResourceId", "Data": {"Inserted", "Total"}}; the Provider answers
CloudFormation.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, TypeAdapter

from inventory.dal import get_repository
from inventory.models import Product
from inventory.settings import get_settings
from shared_kernel.observability import logger

_PRODUCTS = TypeAdapter(list[Product])


class SeedProperties(BaseModel):
    products: list[Product] = Field(alias="Products", min_length=1)
    overwrite: bool = Field(default=False, alias="Overwrite")


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
    repository = get_repository()
    inserted = sum(
        repository.put_product(product, overwrite=properties.overwrite)
        for product in properties.products
    )
    logger.info("products seeded", extra={"inserted": inserted, "total": len(properties.products)})
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"Inserted": inserted, "Total": len(properties.products)},
    }
