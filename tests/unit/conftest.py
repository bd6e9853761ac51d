"""Fixtures for every unit test: fake AWS credentials, moto, a Lambda context, moto tables.

Nothing here is autouse; a service's own conftest picks what it needs.
"""

from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from tests.unit.lambda_events import REGION, FakeLambdaContext


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region; no endpoint override, so boto3 can only reach moto."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    """moto's in-memory AWS, fresh for each test."""
    with mock_aws():
        yield


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def make_table(aws: None) -> Callable[[str], str]:
    """Creates a moto DynamoDB table keyed by the string ``pk`` (the project's key schema)."""

    def make(name: str) -> str:
        boto3.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    return make
