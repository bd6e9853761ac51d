"""The catalogue as ``GET /products`` serves it: a copy kept in memory for a TTL, and the
validators of an answer (no I/O: the store and the clock are passed in).

An execution environment lists the products table at most once per ``ttl_s`` (0: on every
request); in between it answers from its copy, so a listing may be up to ``ttl_s`` behind the
table (stock counts move with every order; prices with every seed). Each environment has its
own copy: N warm environments scan the table at most N times per TTL.

The ETag is a hash of the body (its canonical JSON), so every environment gives the same one
for the same catalogue; it is strong (the body is the same byte for byte).
"""

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from inventory.models import Product


class ProductSource(Protocol):
    def list_products(self) -> list[Product]: ...


class CachedCatalogue:
    """The products of ``source``, read again once ``ttl_s`` seconds have passed."""

    def __init__(
        self,
        source: ProductSource,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._clock = clock
        self._products: list[Product] | None = None
        self._read_at = 0.0

    def products(self) -> list[Product]:
        now = self._clock()
        if self._products is None or now - self._read_at >= self._ttl_s:
            self._products = self._source.list_products()
            self._read_at = now
        return self._products


def body_etag(body: Mapping[str, Any]) -> str:
    """The strong ETag of a JSON body: a hash of its canonical JSON (quoted)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'
