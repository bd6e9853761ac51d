"""Reservations per second on one hot SKU, sharded or not, straight against the emulator's
DynamoDB (no Lambda, no saga): what one stock item and N shard items take here.

T threads each reserve one unit for a fresh order through inventory's own repository
(`InventoryRepository.add_reservation`, the code ReserveInventory runs) until the SKU is sold
out; reported per layout: reservations/s, transactions per reservation (1 + conditional-check
failures), `InventoryBusy` (cancelled transactions other than conditions, e.g.
TransactionConflict) and refusals, and whether the units add up. The SKU is fresh and seeded
through the products table directly (`put_product`), not the seed function.

    make deploy && .venvs/dev/bin/python -m bench.hot_sku --units 300 --threads 16 --shards 8
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from emulator.clients import session
from inventory.dal.repository import InventoryRepository
from inventory.errors import InventoryBusy, OutOfStock
from inventory.models import Product, Reservation, ReservationStatus
from shared_kernel.models import OrderLine

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    layout: str
    seconds: float
    reserved: list[Reservation]
    refused: int
    busy: int
    units_left: int

    def row(self, units: int) -> str:
        attempts = [r.attempts for r in self.reserved]
        mean = sum(attempts) / max(len(attempts), 1)
        rate = len(self.reserved) / self.seconds
        adds_up = len(self.reserved) + self.units_left == units
        return (
            f"| {self.layout} | {len(self.reserved)} | {self.seconds:.1f} | {rate:.1f} | "
            f"{mean:.2f} | {max(attempts, default=0)} | {self.busy} | {self.refused} | "
            f"{'yes' if adds_up else 'NO'} |"
        )


def products_table() -> str:
    stacks = json.loads((ROOT / "outputs.json").read_text())
    return next(s["ProductsTableName"] for s in stacks.values() if "ProductsTableName" in s)


def run(table: str, units: int, threads: int, shards: int) -> Outcome:
    sku = f"SKU-BENCH-{uuid.uuid4().hex[:8].upper()}"
    dynamodb = session().resource("dynamodb")
    product = Product(sku=sku, name="bench", price="1.00", available=units, shards=shards)
    InventoryRepository(table, dynamodb).put_product(product, overwrite=False)
    environments = [InventoryRepository(table, dynamodb) for _ in range(threads)]
    reserved: list[Reservation] = []
    refused = busy = 0

    def worker(index: int) -> None:
        nonlocal refused, busy
        repository = environments[index]
        while True:
            now = datetime.now(UTC)
            reservation = Reservation(
                order_id=str(uuid.uuid4()),
                status=ReservationStatus.RESERVED,
                lines=[OrderLine(sku=sku, quantity=1)],
                created_at=now,
                updated_at=now,
            )
            try:
                reserved.append(repository.add_reservation(reservation))
            except InventoryBusy:
                busy += 1  # the saga would retry the step
            except OutOfStock:
                refused += 1
                return

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, range(threads)))
    seconds = time.perf_counter() - started
    left = InventoryRepository(table, dynamodb).get_product(sku)
    assert left is not None
    layout = f"{shards} shards" if shards else "one item"
    return Outcome(layout, seconds, reserved, refused, busy, left.available)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    table = products_table()
    print(
        "| layout | reserved | s | reservations/s | transactions per reservation | max | "
        "InventoryBusy | refused (sold out) | units add up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for shards in (0, args.shards):
        print(run(table, args.units, args.threads, shards).row(args.units))


if __name__ == "__main__":
    main()
