"""The webhooks API, on the orders REST API (API key required; the caller's client is the key's
id, ``requestContext.identity.apiKeyId``, as the edge reads it):

- ``POST /webhooks`` {url, eventTypes} -> 201 the subscription and its secret (shown once);
  400 naming ``url`` (not https, or a private, link-local, metadata... address) or
  ``eventTypes`` (a type no service publishes);
- ``GET /webhooks`` -> the client's subscriptions; ``GET /webhooks/{id}``; ``DELETE
  /webhooks/{id}`` -> 204 (its secret is deleted too);
- ``POST /webhooks/{id}/rotate-secret`` -> the new secret (once); the previous one keeps
  signing next to it until ``previousValidUntil``;
- ``POST /webhooks/{id}/enable`` -> re-enable a subscription disabled after failures;
- ``GET /webhooks/{id}/deliveries`` -> the latest attempts (status code or error, duration);
- ``POST /webhooks/{id}/deliveries/{messageId}/redeliver`` -> 202, queued again.

Another client's subscription is 404, like one that does not exist.
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from edge.http import (
    RATE_LIMIT_RESPONSE_HEADERS,
    api_resolver,
    edge_responses,
    error_response,
    json_content,
)
from edge.middleware import api_handler
from edge.models import FieldError
from shared_kernel.observability import logger, metrics
from webhooks.dal import (
    get_deliveries,
    get_fan_out_rule,
    get_queues,
    get_secrets,
    get_subscriptions,
)
from webhooks.errors import MessageNotFound, SubscriptionNotFound, WebhookError
from webhooks.logic.signing import SECRET_BYTES
from webhooks.logic.subscriptions import Registry, deliveries, redeliver
from webhooks.models import (
    MESSAGE_ID_PATTERN,
    SUBSCRIPTION_ID_PATTERN,
    AttemptList,
    CreatedWebhook,
    Redelivery,
    RotatedSecret,
    SubscriptionRequest,
    SubscriptionView,
    WebhookList,
)
from webhooks.settings import get_settings

router = Router()

MAX_BODY_BYTES = 8 * 1024
TAGS = ["webhooks"]

SubscriptionId = Annotated[
    str, Path(alias="id", pattern=SUBSCRIPTION_ID_PATTERN, description="From POST /webhooks")
]


@cache
def get_registry() -> Registry:
    settings = get_settings()
    return Registry(
        store=get_subscriptions(),
        secrets=get_secrets(),
        fan_out_rule=get_fan_out_rule(),
        event_types=settings.event_types,
        allow_loopback=settings.allow_loopback,
        rotation_overlap=timedelta(seconds=settings.rotation_overlap_seconds),
        now=lambda: datetime.now(UTC),
        new_id=lambda: f"wh_{uuid.uuid4().hex[:24]}",
        random_bytes=lambda: secrets.token_bytes(SECRET_BYTES),
    )


def _client() -> str:
    event = cast(APIGatewayProxyEvent, router.current_event)
    client = event.request_context.identity.api_key_id
    if not client:
        raise _NoClient
    return client


class _NoClient(Exception):
    pass


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _ok(model: type, description: str) -> dict[int, Any]:
    return {200: {"description": description, "content": json_content(model)}}


@router.post(
    "/webhooks",
    summary="Subscribe to events",
    description="Deliveries are POSTed to `url`, signed as Standard Webhooks says "
    "(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the secret answered "
    "here, once.",
    tags=TAGS,
    responses={
        201: {
            "description": "Subscribed; keep `secret`: it is not shown again",
            "content": json_content(CreatedWebhook),
            "headers": RATE_LIMIT_RESPONSE_HEADERS,
        },
        **edge_responses(413, 415),
    },
)
def create_webhook(request: Annotated[SubscriptionRequest, Body()]) -> Response[dict[str, Any]]:
    created = get_registry().register(_client(), request)
    metrics.add_metric(name="WebhookSubscriptionsCreated", unit=MetricUnit.Count, value=1)
    logger.info("webhook subscribed", extra={"webhook_id": created.id})
    return _json(HTTPStatus.CREATED, created.to_wire())


@router.get(
    "/webhooks",
    summary="List your webhooks",
    tags=TAGS,
    responses={**_ok(WebhookList, "The caller's subscriptions"), **edge_responses()},
)
def list_webhooks() -> Response[dict[str, Any]]:
    items = [s.view() for s in get_registry().of_client(_client())]
    return _json(HTTPStatus.OK, WebhookList(items=items).to_wire())


@router.get(
    "/webhooks/<id>",
    summary="Read a webhook",
    tags=TAGS,
    responses={**_ok(SubscriptionView, "The subscription"), **edge_responses(404)},
)
def get_webhook(subscription_id: SubscriptionId) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.OK, get_registry().get(_client(), subscription_id).view().to_wire())


@router.delete(
    "/webhooks/<id>",
    summary="Delete a webhook",
    description="Nothing more is delivered to it; its secret is deleted.",
    tags=TAGS,
    responses={204: {"description": "Deleted"}, **edge_responses(404)},
)
def delete_webhook(subscription_id: SubscriptionId) -> Response[None]:
    get_registry().delete(_client(), subscription_id)
    logger.info("webhook deleted", extra={"webhook_id": subscription_id})
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None)


@router.post(
    "/webhooks/<id>/rotate-secret",
    summary="Rotate a webhook's secret",
    description="Answers the new secret, once. Until `previousValidUntil` every delivery "
    "carries two signatures, one per secret, so the receiver may switch at any time.",
    tags=TAGS,
    responses={**_ok(RotatedSecret, "The new secret"), **edge_responses(404)},
)
def rotate_secret(subscription_id: SubscriptionId) -> Response[dict[str, Any]]:
    rotated = get_registry().rotate(_client(), subscription_id)
    logger.info("webhook secret rotated", extra={"webhook_id": subscription_id})
    return _json(HTTPStatus.OK, rotated.to_wire())


@router.post(
    "/webhooks/<id>/enable",
    summary="Re-enable a webhook",
    description="A subscription is disabled after a run of consecutive failed deliveries; "
    "this enables it again and resets the count.",
    tags=TAGS,
    responses={**_ok(SubscriptionView, "The subscription, enabled"), **edge_responses(404)},
)
def enable_webhook(subscription_id: SubscriptionId) -> Response[dict[str, Any]]:
    enabled = get_registry().enable(_client(), subscription_id)
    logger.info("webhook enabled", extra={"webhook_id": subscription_id})
    return _json(HTTPStatus.OK, enabled.view().to_wire())


@router.get(
    "/webhooks/<id>/deliveries",
    summary="A webhook's delivery attempts",
    description="The latest attempts, newest first: status code or error, duration.",
    tags=TAGS,
    responses={**_ok(AttemptList, "The attempts"), **edge_responses(404)},
)
def list_deliveries(
    subscription_id: SubscriptionId,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 50,
) -> Response[dict[str, Any]]:
    attempts = deliveries(get_registry(), get_deliveries(), _client(), subscription_id, limit)
    return _json(HTTPStatus.OK, AttemptList(items=attempts).to_wire())


@router.post(
    "/webhooks/<id>/deliveries/<messageId>/redeliver",
    summary="Deliver a message again",
    description="Queues the message (same `webhook-id`) as a first attempt.",
    tags=TAGS,
    responses={
        202: {"description": "Queued", "content": json_content(Redelivery)},
        **edge_responses(404),
    },
)
def redeliver_message(
    subscription_id: SubscriptionId,
    message_id: Annotated[
        str, Path(alias="messageId", pattern=MESSAGE_ID_PATTERN, description="`webhook-id`")
    ],
) -> Response[dict[str, Any]]:
    message = redeliver(
        get_registry(),
        get_deliveries(),
        get_queues(),
        client=_client(),
        subscription_id=subscription_id,
        message_id=message_id,
    )
    logger.info("webhook message queued again", extra={"message_id": message.message_id})
    return _json(HTTPStatus.ACCEPTED, Redelivery(message_id=message.message_id).to_wire())


@router.exception_handler(WebhookError)
def handle_webhook_error(exc: WebhookError) -> Response:
    status = (
        HTTPStatus.NOT_FOUND
        if isinstance(exc, SubscriptionNotFound | MessageNotFound)
        else HTTPStatus.BAD_REQUEST
    )
    message = exc.problem if status == HTTPStatus.NOT_FOUND else "invalid request"
    return error_response(status, message, [FieldError(field=exc.field, problem=exc.problem)])


@router.exception_handler(_NoClient)
def handle_no_client(exc: _NoClient) -> Response:
    return error_response(
        HTTPStatus.FORBIDDEN, "webhooks belong to an API key: send yours in the x-api-key header"
    )


app = api_resolver(router)
handler = api_handler(app, max_body_bytes=MAX_BODY_BYTES, object_body=True)
