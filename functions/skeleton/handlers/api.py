"""Items API: ``POST /items`` and ``GET /items/{id}`` behind API Gateway (REST, proxy)."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.http import (
    InvalidRequestError,
    bad_request,
    json_response,
    message_response,
    parse_body,
)
from common.observability import logger, metrics, tracer
from skeleton.dal import default_repository
from skeleton.logic import items
from skeleton.models import CreateItemRequest

app = APIGatewayRestResolver()


@app.post("/items")
@tracer.capture_method
def create_item() -> Response:
    request = parse_body(CreateItemRequest, app.current_event.decoded_body)
    item = items.create_item(request, default_repository())
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return json_response(HTTPStatus.CREATED, item)


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: str) -> Response:
    return json_response(HTTPStatus.OK, items.get_item(item_id, default_repository()))


# Errors the caller can fix become 4xx here, in one place; anything else is a 5xx.
@app.exception_handler(InvalidRequestError)
def invalid_request(error: InvalidRequestError) -> Response:
    return bad_request(error)


@app.exception_handler(items.ItemNotFoundError)
def item_not_found(error: items.ItemNotFoundError) -> Response:
    return message_response(HTTPStatus.NOT_FOUND, str(error))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
