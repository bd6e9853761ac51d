"""Fixtures of the skeleton's unit tests: its environment and its table in moto."""

import os
from collections.abc import Callable, Iterator
from typing import Any

# Powertools reads these when the handler modules are imported, i.e. at collection time.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "skeleton")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "orderflow")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from skeleton.dal import SkeletonRepository, default_repository
from skeleton.settings import get_settings

TABLE_NAME = "skeleton-unit-test"
_deserializer = TypeDeserializer()

Stored = Callable[[str], dict[str, Any] | None]
"""Type of the ``stored`` fixture: a record by ``pk``, or None."""


@pytest.fixture(autouse=True)
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts like a new execution environment: settings and clients not yet made."""
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    get_settings.cache_clear()
    default_repository.cache_clear()
    yield
    get_settings.cache_clear()
    default_repository.cache_clear()


@pytest.fixture
def table(make_table: Callable[[str], str]) -> str:
    """The skeleton table (named by ``TABLE_NAME``) in moto."""
    return make_table(TABLE_NAME)


@pytest.fixture
def repository(table: str) -> SkeletonRepository:
    """A repository on the moto table, with an explicitly injected client."""
    return SkeletonRepository(table, client=boto3.client("dynamodb"))


@pytest.fixture
def stored(table: str) -> Stored:
    """Reads a record by ``pk`` straight from the table, bypassing the code under test."""
    client = boto3.client("dynamodb")

    def read(pk: str) -> dict[str, Any] | None:
        item = client.get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")
        return None if item is None else {k: _deserializer.deserialize(v) for k, v in item.items()}

    return read
