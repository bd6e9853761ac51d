"""The data-access layer: key scheme, round trips, client creation."""

import boto3
import pytest

from skeleton.dal import SkeletonRepository, default_repository
from skeleton.models import Item, JobMessage
from tests.unit.skeleton.conftest import Stored


def test_item_round_trip(repository: SkeletonRepository, stored: Stored) -> None:
    # Given a stored item
    repository.put_item(Item(id="i-1", name="chair"))

    # When it is read back, then it is equal, and stored under the item# key
    assert repository.get_item("i-1") == Item(id="i-1", name="chair")
    assert stored("item#i-1") == {"pk": "item#i-1", "id": "i-1", "name": "chair"}


def test_unknown_item_is_none(repository: SkeletonRepository) -> None:
    assert repository.get_item("missing") is None


def test_job_is_stored_under_job_key_without_its_fail_flag(
    repository: SkeletonRepository, stored: Stored
) -> None:
    # Given a processed job
    repository.put_job(JobMessage(id="j-1"))

    # Then it is stored under job#<id>, recording only the id
    assert stored("job#j-1") == {"pk": "job#j-1", "id": "j-1"}


def test_kinds_of_records_do_not_collide(repository: SkeletonRepository, stored: Stored) -> None:
    # Given an item and a job with the same id
    repository.put_item(Item(id="same", name="item"))
    repository.put_job(JobMessage(id="same"))

    # Then both exist, under different keys
    assert repository.get_item("same") == Item(id="same", name="item")
    assert stored("job#same") is not None


@pytest.mark.usefixtures("table")
def test_default_repository_is_created_once_per_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a count of the boto3 clients created
    created: list[str] = []
    real_client = boto3.client

    def counting_client(service: str, *args: object, **kwargs: object) -> object:
        created.append(service)
        return real_client(service, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(boto3, "client", counting_client)

    # When the default repository is asked for twice
    first, second = default_repository(), default_repository()

    # Then it is the same object, built with a single client
    assert first is second
    assert created == ["dynamodb"]
