"""Request parsing and JSON responses for API handlers built on Powertools' event handler."""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel, ValidationError


class InvalidRequestError(Exception):
    """The request body is not valid JSON or does not match its model.

    Attributes:
        errors: one ``{"field": ..., "message": ...}`` per problem; problems with the body as a
            whole (not JSON, not an object) name the field ``body``.
    """

    def __init__(self, error: ValidationError) -> None:
        self.errors = [
            {"field": ".".join(str(part) for part in e["loc"]) or "body", "message": e["msg"]}
            for e in error.errors(include_url=False)
        ]
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in self.errors))


def parse_body[M: BaseModel](model: type[M], body: str | None) -> M:
    """``body`` parsed into ``model``; raises ``InvalidRequestError`` when it does not fit."""
    try:
        return model.model_validate_json(body or "")
    except ValidationError as error:
        raise InvalidRequestError(error) from error


def json_response(status: HTTPStatus, body: BaseModel | Mapping[str, Any]) -> Response:
    """A response with a JSON body (a model is serialised with its field names)."""
    payload = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=payload)


def message_response(status: HTTPStatus, message: str) -> Response:
    """An error response: ``{"message": ...}``."""
    return json_response(status, {"message": message})


def bad_request(error: InvalidRequestError) -> Response:
    """400 naming each field at fault: ``{"message": ..., "errors": [{"field", "message"}]}``."""
    return json_response(
        HTTPStatus.BAD_REQUEST,
        {"message": f"invalid request: {error}", "errors": error.errors},
    )
