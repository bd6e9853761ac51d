"""How clients poll: long polling of ``GET /orders/{orderId}?wait=N`` and the caching of
``GET /products`` (``DeploymentConfig.polling``). Docs: docs/following-an-order.md.

Context ``orderflow:polling`` (or ``ORDERFLOW_POLLING``) takes a JSON object, e.g.
``-c orderflow:polling='{"interval_ms": 500, "products": {"api_cache": true}}'``.

- ``max_wait_seconds`` (20): the largest ``wait`` a client may ask for. At most
  ``WAIT_CEILING_SECONDS`` (the API's contract, in docs/openapi.json), which keeps the function's
  timeout (``max_wait_seconds + FUNCTION_MARGIN_SECONDS``) under API Gateway's 29 s
  integration timeout.
- ``interval_ms`` (250): how often a waiting request reads the order's version (one strongly
  consistent GetItem of one attribute, 1 RCU): 4 reads per waiting second, and an answer at most
  ~0.25 s after the change is readable.
- ``get_order_concurrency`` (dev 10, prod 100): reserved concurrency of GetOrder, a cap (the
  bulkhead of docs/resilience/bulkheads.md): waiting requests hold an execution environment
  each for up to ``max_wait_seconds``, and must not take the pool order intake needs.
- ``products``: ``max_age_seconds`` (dev 5, prod 30) of ``Cache-Control: public, max-age``;
  ``memory_ttl_seconds`` (dev 5, prod 30): how long a ListProducts environment answers from
  its copy of the catalogue before it scans the table again; ``api_cache`` (off on dev, on in
  prod): API Gateway's stage cache for ``GET /products`` (a cache cluster of
  ``api_cache_size_gb``, entries kept ``api_cache_ttl_seconds``, encrypted). The emulator does
  not emulate API Gateway caching (LocalStack's core has none): there the in-memory copy and
  the HTTP headers are the whole story.
"""

from typing import Any, Literal

from aws_cdk import Duration
from pydantic import Field

from infra.contracts import WAIT_CEILING_SECONDS
from infra.sections import ConfigSection

FUNCTION_MARGIN_SECONDS = 5
"""GetOrder's timeout over the longest wait: its reads, its answer, a cold start."""
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29


class ProductsCacheConfig(ConfigSection):
    """Caching of ``GET /products`` (see the module doc)."""

    max_age_seconds: int = Field(default=30, ge=0, le=3_600)
    """``Cache-Control: public, max-age=<this>`` on every 200 of ``GET /products``."""

    memory_ttl_seconds: int = Field(default=30, ge=0, le=3_600)
    """How long a ListProducts execution environment reuses its copy of the catalogue
    (0: read the table on every request)."""

    api_cache: bool = False
    """API Gateway's stage cache for ``GET /products`` (a cache cluster is billed per hour)."""

    api_cache_size_gb: Literal["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] = "0.5"
    """Size of the stage's cache cluster."""

    api_cache_ttl_seconds: int = Field(default=30, ge=1, le=3_600)
    """How long API Gateway keeps an answer of ``GET /products``."""


class PollingConfig(ConfigSection):
    """Long polling of orders and caching of the catalogue (see the module doc)."""

    max_wait_seconds: int = Field(default=WAIT_CEILING_SECONDS, ge=1, le=WAIT_CEILING_SECONDS)
    interval_ms: int = Field(default=250, ge=50, le=5_000)
    get_order_concurrency: int = Field(default=10, ge=1)
    products: ProductsCacheConfig = ProductsCacheConfig()

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        """dev (every stage but prod): small caches and no API Gateway cache cluster, so a
        developer sees a change within seconds and pays nothing per hour; prod is sized for
        traffic (docs/following-an-order.md)."""
        if stage == "prod":
            return {"get_order_concurrency": 100, "products": {"api_cache": True}}
        return {"products": {"max_age_seconds": 5, "memory_ttl_seconds": 5}}

    @property
    def get_order_timeout(self) -> Duration:
        """GetOrder's function timeout: the longest wait plus a margin, under API Gateway's."""
        return Duration.seconds(self.max_wait_seconds + FUNCTION_MARGIN_SECONDS)


PRODUCTS_CACHE_KEY = (
    "method.request.querystring.inStock",
    "method.request.header.x-api-key",
    "method.request.header.If-None-Match",
)
"""What API Gateway's cache keys ``GET /products`` by: the filter (another body), the caller's
key (the answer carries its plan's ``RateLimit-*`` headers) and ``If-None-Match`` (a 304 is
never served to a caller that did not ask for one)."""


def long_poll_environment(polling: PollingConfig) -> dict[str, str]:
    """What GetOrder is told (functions/orders/settings.py)."""
    return {
        "LONG_POLL_MAX_WAIT_SECONDS": str(polling.max_wait_seconds),
        "LONG_POLL_INTERVAL_MS": str(polling.interval_ms),
    }


def products_environment(products: ProductsCacheConfig) -> dict[str, str]:
    """What ListProducts is told (functions/inventory/settings.py)."""
    return {
        "CATALOGUE_TTL_SECONDS": str(products.memory_ttl_seconds),
        "PRODUCTS_MAX_AGE_SECONDS": str(products.max_age_seconds),
    }
