import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

import edge.settings
import payments.dal
import payments.resilience
from orders.dal.repository import payment_token_item
from payments.dal.repository import PaymentsRepository
from tests.unit.domain_common.fixtures import REGION, TABLE_ENV, create_key_table, create_table

MODE_PARAMETER = "/orderflow/test/payments/provider-mode"
API_KEY_SECRET = "orderflow/test/payment-provider-api-key"
WEBHOOK_SECRET = "orderflow/test/payment-webhook-secret"
WEBHOOK_SECRET_VALUE = "s3cr3tS1gningK3yOfTheProviderX0123456789"
DELIVERIES_TABLE = "payment-webhook-deliveries-test"
CONFIRMATIONS_QUEUE = "provider-confirmations-test"


def forget_caches() -> None:
    payments.resilience.reset()
    payments.dal.reset()
    edge.settings.get_settings.cache_clear()
    parameters.clear_caches()


@pytest.fixture(autouse=True)
def _fresh_payments(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PROVIDER_LATENCY_MS", "0")
    monkeypatch.setenv("PROVIDER_MODE_PARAMETER", MODE_PARAMETER)
    monkeypatch.setenv("PROVIDER_MODE_MAX_AGE_SECONDS", "0")  # every call reads the mode
    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_NAME", API_KEY_SECRET)
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET_NAME", WEBHOOK_SECRET)
    monkeypatch.setenv("WEBHOOK_DELIVERIES_TABLE", DELIVERIES_TABLE)
    monkeypatch.setenv("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", "120")
    monkeypatch.setenv("PROVIDER_CONFIRMATION_DELAY_SECONDS", "0")
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")  # the webhook's: no API key to limit
    forget_caches()
    yield
    forget_caches()


def set_mode(value: str) -> None:
    """Put the provider mode, as an operator would (``aws ssm put-parameter --overwrite``)."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=MODE_PARAMETER, Value=value, Type="String", Overwrite=True
    )


@pytest.fixture
def payments_table(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The payments table, and what a deployed payments function finds beside it: the provider
    mode parameter set to ``up``, the orders table (payment tokens), the provider's secrets,
    the webhook deliveries table and the sandbox provider's confirmations queue."""
    name = TABLE_ENV["PAYMENTS_TABLE"]
    create_table(name)
    create_table(TABLE_ENV["ORDERS_TABLE"])
    create_key_table(DELIVERIES_TABLE, "pk")
    set_mode("up")
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name=API_KEY_SECRET, SecretString="merchant-api-key-123")
    secrets.create_secret(Name=WEBHOOK_SECRET, SecretString=WEBHOOK_SECRET_VALUE)
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName=CONFIRMATIONS_QUEUE)
    monkeypatch.setenv("PROVIDER_CONFIRMATIONS_QUEUE_URL", queue["QueueUrl"])
    return name


def store_token(order_id: str, token: str) -> None:
    """The order's payment token in the orders store, as POST /orders or RecordOrder keeps it."""
    boto3.resource("dynamodb", region_name=REGION).Table(TABLE_ENV["ORDERS_TABLE"]).put_item(
        Item=payment_token_item(order_id, token)
    )


def scheduled_confirmations() -> list[dict[str, Any]]:
    """The confirmations the sandbox provider queued (received and deleted)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=CONFIRMATIONS_QUEUE)["QueueUrl"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def repository(payments_table: str) -> PaymentsRepository:
    return PaymentsRepository(payments_table)
