"""Write-sharded stock for hot SKUs (``DeploymentConfig.stock_sharding``; design in
functions/inventory/README.md, *Hot SKUs*, and docs/performance/hot-skus.md).

Context ``orderflow:stockSharding`` (or ``ORDERFLOW_STOCK_SHARDING``) takes a JSON object, e.g.
``-c orderflow:stockSharding='{"default_shards": 16}'``.

- ``default_shards`` (dev 4, prod 10): the shard items of a SKU the seed marks ``hot`` without
  a ``shards`` count of its own. On AWS one partition key takes at most 1000 write units per
  second; a reservation writes its shard (and the reservation item) in one transaction, so N
  shards raise a hot SKU's ceiling about N times. Each shard also splits the stock: with
  little stock left, more reservations walk several shards before finding one with units.
"""

from typing import Any

from pydantic import Field

from infra.sections import ConfigSection
from inventory.sharding import MAX_SHARDS


class StockShardingConfig(ConfigSection):
    """How many shard items a hot SKU gets by default (see the module doc)."""

    default_shards: int = Field(default=10, ge=2, le=MAX_SHARDS)

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        """prod: 10 shards (about 10x the write ceiling of one key); every other stage 4, so
        the emulator exercises the walk and the splits with small stock."""
        return {} if stage == "prod" else {"default_shards": 4}

    def environment(self) -> dict[str, str]:
        """What the seed function is told."""
        return {"STOCK_SHARDS": str(self.default_shards)}
