import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import shipping.dal
from shared_kernel import aws
from shipping.dal.repository import ShipmentsRepository
from tests.unit.domain_common.fixtures import TABLE_ENV, create_table
from tests.unit.domain_common.sqs import sqs_record


@pytest.fixture(autouse=True)
def _fresh_shipping(aws_env: None) -> Iterator[None]:
    shipping.dal.reset()
    yield
    shipping.dal.reset()


@pytest.fixture
def repository(mocked_aws: None) -> ShipmentsRepository:
    create_table(TABLE_ENV["SHIPMENTS_TABLE"])
    return ShipmentsRepository(TABLE_ENV["SHIPMENTS_TABLE"])


class FakeStepFunctions:
    """Records send_task_success calls; can answer with a Step Functions error code."""

    def __init__(self) -> None:
        self.successes: list[tuple[str, dict[str, Any]]] = []
        self.error_code: str | None = None

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        if self.error_code:
            raise ClientError(
                {"Error": {"Code": self.error_code, "Message": "simulated"}}, "SendTaskSuccess"
            )
        self.successes.append((taskToken, json.loads(output)))
        return {}


@pytest.fixture
def step_functions(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> FakeStepFunctions:
    """Stands in for SendTaskSuccess on the shared Step Functions client."""
    fake = FakeStepFunctions()
    monkeypatch.setattr(aws.stepfunctions(), "send_task_success", fake.send_task_success)
    return fake


@pytest.fixture
def make_sqs_record():
    return sqs_record
