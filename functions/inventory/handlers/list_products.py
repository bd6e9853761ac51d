"""GET /products: the catalogue with the stock available to order (API Gateway REST proxy).

`?inStock=true` keeps only products with available stock (`true`/`false`; anything else is a
400).
"""

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from edge.http import RATE_LIMIT_RESPONSE_HEADERS, api_resolver, edge_responses, json_content
from edge.middleware import api_handler
from inventory.dal import get_repository
from inventory.models import ProductList, ProductView

router = Router()


@router.get(
    "/products",
    summary="List the catalogue",
    description="Every product with its price and the stock available to order.",
    tags=["products"],
    responses={
        200: {
            "description": "The catalogue",
            "content": json_content(ProductList),
            "headers": RATE_LIMIT_RESPONSE_HEADERS,
        },
        **edge_responses(),
    },
)
def list_products(
    in_stock: Annotated[
        bool, Query(alias="inStock", description="Only products with available stock")
    ] = False,
) -> Response[dict[str, Any]]:
    products = [
        ProductView.model_validate(product.model_dump())
        for product in get_repository().list_products()
        if product.available > 0 or not in_stock
    ]
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=ProductList(products=products).to_wire(),
    )


app = api_resolver(router)
handler = api_handler(app)
