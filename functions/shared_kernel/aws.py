"""boto3 clients and resources, created lazily and once per execution environment.

Nothing is created at import time, so tests can start moto (or set the region) first and then
reset the caches with `reset_clients()`.
"""

from functools import cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient


@cache
def dynamodb() -> "DynamoDBServiceResource":
    """The DynamoDB resource; its `meta.client` accepts and returns plain Python values."""
    return boto3.resource("dynamodb")


@cache
def dynamodb_client() -> "DynamoDBClient":
    """A plain DynamoDB client (typed attribute values), for libraries that expect one, such as
    Powertools' idempotency persistence layer. The resource's `meta.client` is not one: it
    converts values itself."""
    return boto3.client("dynamodb")


@cache
def eventbridge() -> "EventBridgeClient":
    return boto3.client("events")


@cache
def stepfunctions() -> "SFNClient":
    return boto3.client("stepfunctions")


def reset_clients() -> None:
    for factory in (dynamodb, dynamodb_client, eventbridge, stepfunctions):
        factory.cache_clear()
