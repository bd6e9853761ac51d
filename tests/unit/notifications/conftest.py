from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import notifications.dal
from tests.unit.domain_common.fixtures import REGION, TABLE_ENV, create_table


@pytest.fixture(autouse=True)
def _fresh_notifications(aws_env: None) -> Iterator[None]:
    notifications.dal.reset()
    yield
    notifications.dal.reset()


class Tables:
    def __init__(self) -> None:
        resource = boto3.resource("dynamodb", region_name=REGION)
        self.notifications = resource.Table(TABLE_ENV["NOTIFICATIONS_TABLE"])
        self.audit = resource.Table(TABLE_ENV["AUDIT_TABLE"])

    @staticmethod
    def items(table) -> list[dict[str, Any]]:
        return sorted(table.scan()["Items"], key=lambda item: (item["pk"], item["sk"]))


@pytest.fixture
def tables(mocked_aws: None) -> Tables:
    create_table(TABLE_ENV["NOTIFICATIONS_TABLE"])
    create_table(TABLE_ENV["AUDIT_TABLE"])
    return Tables()
