"""moto-backed fixtures shared by the domain services' unit tests.

Registered for every test by ``pytest_plugins`` in tests/conftest.py; none is autouse, a test
(or its service's conftest) asks for what it needs.

moto is started once per test session (``moto_session``): starting it costs more than most
tests (it patches botocore and throws away boto3's default session, so every service model is
parsed again). Each test that asks for ``mocked_aws`` still starts from an empty AWS: its
state is reset first, so a test creates the tables, bus and queues it needs, as before.
"""

import json
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import boto3
import pytest
import requests
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

import edge.dal
import edge.middleware
from shared_kernel import aws
from shared_kernel.secrets import forget_secrets
from tests.unit.domain_common.identity import IDENTITY_ENV

REGION = "us-east-1"
BUS_NAME = "orderflow-test"

TABLE_ENV = {
    "ORDERS_TABLE": "orders-test",
    "ORDER_VIEWS_TABLE": "order-views-test",
    "IDEMPOTENCY_TABLE": "idempotency-test",
    "RATE_LIMIT_TABLE": "rate-limits-test",
    "PRODUCTS_TABLE": "products-test",
    "PAYMENTS_TABLE": "payments-test",
    "SHIPMENTS_TABLE": "shipments-test",
    "NOTIFICATIONS_TABLE": "notifications-test",
    "AUDIT_TABLE": "audit-test",
}


# The API edge's plans, as the stack writes them (infra/api.py): two test keys on two plans.
BASIC_KEY_ID, PREMIUM_KEY_ID = "key-basic", "key-premium"
BASIC_PLAN = {"rate": 5, "burst": 10, "dailyQuota": 10_000, "apiKeyIds": [BASIC_KEY_ID]}
PREMIUM_PLAN = {"rate": 50, "burst": 100, "dailyQuota": 200_000, "apiKeyIds": [PREMIUM_KEY_ID]}
EDGE_ENV = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_PLANS": json.dumps({"basic": BASIC_PLAN, "premium": PREMIUM_PLAN}),
    "RATE_LIMIT_DEFAULT_PLAN": "basic",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "orderflow-unit-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:orderflow-unit-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/orderflow-unit-test"
    log_stream_name: str = "stream"
    extra: dict[str, Any] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, the region, every table/bus name and quiet Powertools."""
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "OrderflowTest",
        "POWERTOOLS_DEV": "false",
        "EVENT_BUS_NAME": BUS_NAME,
        **TABLE_ENV,
        **EDGE_ENV,
        **IDENTITY_ENV,
    }
    # No profile or endpoint override: boto3 must reach moto, never an emulator or AWS.
    for name in [*os.environ]:
        if name == "AWS_PROFILE" or name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    aws.reset_clients()
    reset_edge()
    # Handlers that emit no metric on a path (e.g. a 400) make Powertools warn; that is noise.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


def reset_edge() -> None:
    """Forget the edge's settings, table client and limiter (its memory of keys)."""
    edge.dal.reset()
    edge.middleware.get_limiter.cache_clear()
    forget_secrets()  # Powertools Parameters' cache: the JWKS parameter, secrets


@pytest.fixture(scope="session")
def moto_session() -> Iterator[None]:
    """moto's in-memory AWS, patched in once: from the first test that asks for it to the end
    of the session (or of the xdist worker)."""
    with mock_aws():
        yield


def reset_moto() -> None:
    """Empty every moto backend (moto's documented reset API, answered in-process)."""
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture
def mocked_aws(moto_session: None, aws_env: None) -> Iterator[None]:
    """An empty moto AWS for this test, and fresh clients in the code under test. Emptied again
    afterwards: a later test that asks for no AWS finds nothing this one created."""
    reset_moto()
    aws.reset_clients()
    reset_edge()
    yield
    reset_moto()
    aws.reset_clients()
    reset_edge()


def create_rate_limit_table() -> None:
    """The edge's limiter table (``pk`` only, as infra/api.py creates it)."""
    create_key_table(TABLE_ENV["RATE_LIMIT_TABLE"], "pk")


def create_idempotency_table() -> None:
    """POST /orders' idempotency table (Powertools' key ``id``)."""
    create_key_table(TABLE_ENV["IDEMPOTENCY_TABLE"], "id")


@cache
def setup_client(service: Literal["dynamodb", "events", "sqs"]) -> Any:
    """A client for the fixtures' own set-up calls, created once: moto's state is reset for each
    test, its clients stay valid (creating one costs more than the calls it makes here)."""
    return boto3.client(service, region_name=REGION)


def create_key_table(name: str, key: str) -> None:
    setup_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def create_table(name: str, *, stream: bool = False) -> None:
    """Every orderflow table: pk (S) + sk (S), on demand; `stream` = NEW_AND_OLD_IMAGES."""
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    setup_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


class BusSpy:
    """The test event bus plus a rule that copies every orderflow event to an SQS queue, so a
    test sees exactly what EventBridge would deliver to a target."""

    def __init__(self) -> None:
        self.events_client = setup_client("events")
        self._sqs = setup_client("sqs")
        self.events_client.create_event_bus(Name=BUS_NAME)
        self._queue_url = self._sqs.create_queue(QueueName="bus-spy")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.events_client.put_rule(
            Name="spy-all-orderflow",
            EventBusName=BUS_NAME,
            EventPattern=json.dumps({"source": [{"prefix": "orderflow."}]}),
        )
        self.events_client.put_targets(
            Rule="spy-all-orderflow",
            EventBusName=BUS_NAME,
            Targets=[{"Id": "spy", "Arn": queue_arn}],
        )
        self._seen: list[dict[str, Any]] = []

    def delivered(self) -> list[dict[str, Any]]:
        """Every EventBridge event delivered so far (as a rule target receives it)."""
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return list(self._seen)
            for message in messages:
                # moto leaves out envelope fields that EventBridge (and the emulator) set
                envelope = {"version": "0", "account": "123456789012", "region": "us-east-1"}
                self._seen.append(envelope | json.loads(message["Body"]))
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def detail_types(self) -> list[str]:
        return [event["detail-type"] for event in self.delivered()]


@pytest.fixture
def bus(mocked_aws: None) -> BusSpy:
    return BusSpy()


def fail_put_events(
    monkeypatch: pytest.MonkeyPatch, error_code: str = "ThrottlingException"
) -> None:
    """Make the shared EventBridge client report every entry as failed (FailedEntryCount)."""
    client = aws.eventbridge()

    def failing_put_events(Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [
                {"ErrorCode": error_code, "ErrorMessage": "rate exceeded"} for _ in Entries
            ],
        }

    monkeypatch.setattr(client, "put_events", failing_put_events)


@pytest.fixture
def atomic_dynamodb_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each mocked DynamoDB request atomic, as it is in DynamoDB.

    moto's DynamoDB backend is not thread-safe: a cancelled TransactWriteItems restores a deep
    copy of the whole table, undoing writes that other threads made meanwhile. Concurrency tests
    therefore serialise moto's request handling (one API call at a time, any interleaving of
    calls). The code under test takes no lock; it relies on DynamoDB's conditional writes.
    """

    lock = threading.RLock()
    call_action = DynamoHandler.call_action

    def atomic_call_action(self: DynamoHandler) -> Any:
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic_call_action)
