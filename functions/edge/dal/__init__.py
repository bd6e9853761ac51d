"""Edge data access, and the per-execution-environment instances the edge uses."""

from functools import cache

from edge.dal.buckets import BucketStore
from edge.settings import get_settings


@cache
def get_bucket_store() -> BucketStore:
    table = get_settings().rate_limit_table
    assert table is not None, "rate limiting is off: there is no bucket table"
    return BucketStore(table)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (get_settings, get_bucket_store):
        factory.cache_clear()


__all__ = ["BucketStore", "get_bucket_store", "reset"]
