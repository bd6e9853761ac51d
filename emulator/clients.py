"""The one place where clients that talk to the emulator are configured.

Integration tests, tools and benchmarks get their boto3 clients here, from ``localstack-client``,
pointed at ``AWS_ENDPOINT_URL`` (default http://127.0.0.1:4566, never a name that needs DNS).
Unit tests use moto instead and never import this module.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from botocore.config import Config
from localstack_client.session import Session

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
REGION = "us-east-1"


def endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


@cache
def session() -> Session:
    host = endpoint().split("://", 1)[-1]
    return Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=REGION,
        localstack_host=host,
    )


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` on the emulator. Retries are left to the caller so that
    tests see the first answer; long reads (Lambda invokes) get a generous timeout."""
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120)
    return session().client(service, config=kwargs.pop("config", config), **kwargs)
