"""boto3 clients and resources, created lazily and once per execution environment.

Nothing is created at import time, so tests can start moto (or set the region) first and then
reset the caches with `reset_clients()`.
"""

from functools import cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient


@cache
def dynamodb() -> "DynamoDBServiceResource":
    """The DynamoDB resource; its `meta.client` accepts and returns plain Python values."""
    return boto3.resource("dynamodb")


@cache
def eventbridge() -> "EventBridgeClient":
    return boto3.client("events")


@cache
def stepfunctions() -> "SFNClient":
    return boto3.client("stepfunctions")


def reset_clients() -> None:
    for factory in (dynamodb, eventbridge, stepfunctions):
        factory.cache_clear()
