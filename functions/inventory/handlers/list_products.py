"""GET /products: the catalogue with the stock available to order (API Gateway REST proxy)."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.dal import get_repository
from inventory.models import ProductView

logger = Logger(service="inventory")
tracer = Tracer(service="inventory")
app = APIGatewayRestResolver()


@app.get("/products")
@tracer.capture_method
def list_products() -> dict[str, Any]:
    """`?inStock=true` keeps only products with available stock."""
    in_stock_only = app.current_event.get_query_string_value("inStock", "false") == "true"
    products = [
        ProductView.model_validate(product.model_dump()).to_wire()
        for product in get_repository().list_products()
        if product.available > 0 or not in_stock_only
    ]
    return {"products": products}


@tracer.capture_lambda_handler
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
