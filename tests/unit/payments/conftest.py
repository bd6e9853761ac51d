from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

import payments.dal
import payments.resilience
from payments.dal.repository import PaymentsRepository
from tests.unit.domain_common.fixtures import REGION, TABLE_ENV, create_table

MODE_PARAMETER = "/orderflow/test/payments/provider-mode"


def forget_caches() -> None:
    payments.resilience.reset()
    payments.dal.reset()
    parameters.clear_caches()


@pytest.fixture(autouse=True)
def _fresh_payments(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PROVIDER_LATENCY_MS", "0")
    monkeypatch.setenv("PROVIDER_MODE_PARAMETER", MODE_PARAMETER)
    monkeypatch.setenv("PROVIDER_MODE_MAX_AGE_SECONDS", "0")  # every call reads the mode
    forget_caches()
    yield
    forget_caches()


def set_mode(value: str) -> None:
    """Put the provider mode, as an operator would (``aws ssm put-parameter --overwrite``)."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=MODE_PARAMETER, Value=value, Type="String", Overwrite=True
    )


@pytest.fixture
def payments_table(mocked_aws: None) -> str:
    """The payments table, and the provider mode parameter set to ``up`` (as deployed)."""
    name = TABLE_ENV["PAYMENTS_TABLE"]
    create_table(name)
    set_mode("up")
    return name


@pytest.fixture
def repository(payments_table: str) -> PaymentsRepository:
    return PaymentsRepository(payments_table)
