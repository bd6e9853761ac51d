"""GET /products: the catalogue with the stock available to order (API Gateway REST proxy).

`?inStock=true` keeps only products with available stock (`true`/`false`; anything else is a
400).

Caching: the function answers from its in-memory copy of the catalogue for
`CATALOGUE_TTL_SECONDS` (logic/catalogue_cache.py); every 200 carries an `ETag` (a hash of the
body) and `Cache-Control: public, max-age=<PRODUCTS_MAX_AGE_SECONDS>`; `If-None-Match` naming
the ETag -> 304 without a body. On AWS the stage may also cache this method (infra/polling.py,
`polling.products.api_cache`); LocalStack's core does not emulate API Gateway caching, so on
the emulator every request reaches this function.
"""

from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from edge.http import (
    RATE_LIMIT_RESPONSE_HEADERS,
    api_resolver,
    edge_responses,
    if_none_match,
    json_content,
    response_header,
)
from edge.middleware import api_handler
from inventory.dal import get_repository
from inventory.logic.catalogue_cache import CachedCatalogue, body_etag
from inventory.models import ProductList, ProductView
from inventory.settings import get_settings

router = Router()

CACHE_HEADERS = {
    "ETag": response_header("A hash of the body: send it as `If-None-Match`"),
    "Cache-Control": response_header("`public, max-age=<seconds>`"),
}


@cache
def catalogue() -> CachedCatalogue:
    """This execution environment's copy of the catalogue."""
    return CachedCatalogue(get_repository(), get_settings().catalogue_ttl_seconds)


@router.get(
    "/products",
    summary="List the catalogue",
    description="Every product with its price and the stock available to order.",
    tags=["products"],
    responses={
        200: {
            "description": "The catalogue",
            "content": json_content(ProductList),
            "headers": {**CACHE_HEADERS, **RATE_LIMIT_RESPONSE_HEADERS},
        },
        304: {
            "content": {},
            "description": "Not modified: `If-None-Match` names the catalogue's ETag; no body",
            "headers": {**CACHE_HEADERS, **RATE_LIMIT_RESPONSE_HEADERS},
        },
        **edge_responses(),
    },
)
def list_products(
    in_stock: Annotated[
        bool, Query(alias="inStock", description="Only products with available stock")
    ] = False,
    known: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            min_length=1,
            max_length=1024,
            description="ETag(s) of the catalogue the caller has: 304 while it is current",
        ),
    ] = None,
) -> Response[dict[str, Any] | None]:
    products = [
        ProductView.model_validate(product.model_dump())
        for product in catalogue().products()
        if product.available > 0 or not in_stock
    ]
    body = ProductList(products=products).to_wire()
    etag = body_etag(body)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={get_settings().products_max_age_seconds}",
    }
    if if_none_match(known, etag):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


app = api_resolver(router)
handler = api_handler(app)
