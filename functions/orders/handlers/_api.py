"""Error responses shared by the orders API handlers."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import ValidationError


def field_path(location: tuple[int | str, ...]) -> str:
    """('items', 0, 'sku') -> 'items[0].sku'."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def bad_request(message: str, errors: list[dict[str, Any]]) -> Response:
    return Response(
        status_code=HTTPStatus.BAD_REQUEST,
        content_type=content_types.APPLICATION_JSON,
        body={"message": message, "errors": errors},
    )


def invalid_body(exc: ValidationError) -> Response:
    errors = [
        {"field": field_path(error["loc"]), "problem": error["msg"]} for error in exc.errors()
    ]
    return bad_request("invalid request body", errors)
