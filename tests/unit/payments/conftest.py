from collections.abc import Iterator

import pytest

import payments.dal
from payments.dal.repository import PaymentsRepository
from tests.unit.domain_common.fixtures import TABLE_ENV, create_table


@pytest.fixture(autouse=True)
def _fresh_payments(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PROVIDER_LATENCY_MS", "0")
    payments.dal.reset()
    yield
    payments.dal.reset()


@pytest.fixture
def payments_table(mocked_aws: None) -> str:
    name = TABLE_ENV["PAYMENTS_TABLE"]
    create_table(name)
    return name


@pytest.fixture
def repository(payments_table: str) -> PaymentsRepository:
    return PaymentsRepository(payments_table)
