from collections.abc import Iterator

import pytest

from tests.unit.domain_common.fixtures import create_rate_limit_table, reset_edge


@pytest.fixture(autouse=True)
def _fresh_edge(aws_env: None) -> Iterator[None]:
    reset_edge()
    yield
    reset_edge()


@pytest.fixture
def rate_limit_table(mocked_aws: None) -> str:
    create_rate_limit_table()
    from tests.unit.domain_common.fixtures import TABLE_ENV

    return TABLE_ENV["RATE_LIMIT_TABLE"]


class FakeClock:
    """A clock tests move by hand (seconds since the epoch, as ``time.time``)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
