"""The items API handler: status codes and bodies for good and bad requests."""

import json
import uuid
from typing import Any

import pytest

from skeleton.handlers import api
from tests.unit.lambda_events import FakeLambdaContext, api_gateway_event, sample_text
from tests.unit.skeleton.conftest import Stored


def post_item(body: str | None, context: FakeLambdaContext) -> dict[str, Any]:
    return api.handler(api_gateway_event("POST", "/items", body=body), context)


def get_item(item_id: str, context: FakeLambdaContext) -> dict[str, Any]:
    event = api_gateway_event(
        "GET", f"/items/{item_id}", resource="/items/{id}", path_parameters={"id": item_id}
    )
    return api.handler(event, context)


def test_post_creates_item_and_answers_201(
    lambda_context: FakeLambdaContext, stored: Stored
) -> None:
    # Given the sample body {"name": "first item"}
    body = sample_text("skeleton/create_item.json")

    # When it is posted to /items
    response = post_item(body, lambda_context)

    # Then the API answers 201 with a fresh uuid and the name ...
    assert response["statusCode"] == 201
    created = json.loads(response["body"])
    assert created["name"] == "first item"
    assert uuid.UUID(created["id"]).version == 4
    # ... and the item is stored under that id
    assert stored(f"item#{created['id']}") == {"pk": f"item#{created['id']}", **created}


@pytest.mark.usefixtures("table")
def test_get_returns_a_stored_item(lambda_context: FakeLambdaContext) -> None:
    # Given an item created through the API
    created = json.loads(post_item('{"name": "lamp"}', lambda_context)["body"])

    # When it is fetched by id
    response = get_item(created["id"], lambda_context)

    # Then the API answers 200 with the same item
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"id": created["id"], "name": "lamp"}


@pytest.mark.usefixtures("table")
def test_get_unknown_item_answers_404(lambda_context: FakeLambdaContext) -> None:
    # Given an empty table
    # When an id that was never created is fetched
    response = get_item("no-such-id", lambda_context)

    # Then the API answers 404 with a message naming the id
    assert response["statusCode"] == 404
    assert "no-such-id" in json.loads(response["body"])["message"]


@pytest.mark.usefixtures("table")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param('{"title": "x"}', "name", id="missing name"),
        pytest.param('{"name": 42}', "name", id="name not a string"),
        pytest.param('{"name": ""}', "name", id="empty name"),
        pytest.param("{not json", "body", id="invalid json"),
        pytest.param('["a list"]', "body", id="not an object"),
        pytest.param(None, "body", id="no body"),
    ],
)
def test_bad_request_answers_400_naming_the_field(
    body: str | None, field: str, lambda_context: FakeLambdaContext
) -> None:
    # Given a request body that is not a valid item
    # When it is posted
    response = post_item(body, lambda_context)

    # Then the API answers 400 (never 5xx) and names the field at fault
    assert response["statusCode"] == 400
    payload = json.loads(response["body"])
    assert [error["field"] for error in payload["errors"]] == [field]
    assert field in payload["message"]
