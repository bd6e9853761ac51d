"""The circuit breakers' shared state: one item per dependency in the payments table.

  breaker  pk=BREAKER#<dependency>  sk=BREAKER  state, failures, windowStarted, openedAt,
                                                probeUntil, opens, probes, version

Times are epoch seconds (Number, millisecond precision). Every write is a put conditioned on
the version the writer read (``attribute_not_exists(pk)`` for the first), so concurrent
execution environments never overwrite each other's transition.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments.models import BreakerRecord, BreakerState
from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


def breaker_key(dependency: str) -> dict[str, str]:
    return {"pk": f"BREAKER#{dependency}", "sk": "BREAKER"}


class BreakerRepository:
    """``BreakerStore`` on DynamoDB."""

    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def load(self, dependency: str) -> BreakerRecord:
        item = self._table.get_item(Key=breaker_key(dependency), ConsistentRead=True).get("Item")
        if item is None:
            return BreakerRecord()
        return BreakerRecord(
            state=BreakerState(str(item["state"])),
            failures=int(item["failures"]),  # type: ignore[arg-type]
            window_started=float(item["windowStarted"]),  # type: ignore[arg-type]
            opened_at=float(item["openedAt"]),  # type: ignore[arg-type]
            probe_until=float(item["probeUntil"]),  # type: ignore[arg-type]
            version=int(item["version"]),  # type: ignore[arg-type]
            opens=int(item["opens"]),  # type: ignore[arg-type]
            probes=int(item["probes"]),  # type: ignore[arg-type]
        )

    def replace(self, dependency: str, record: BreakerRecord, expected_version: int) -> bool:
        item: dict[str, Any] = {
            **breaker_key(dependency),
            "state": record.state.value,
            "failures": record.failures,
            "windowStarted": _seconds(record.window_started),
            "openedAt": _seconds(record.opened_at),
            "probeUntil": _seconds(record.probe_until),
            "version": record.version,
            "opens": record.opens,
            "probes": record.probes,
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if expected_version == 0
            else {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        )
        try:
            self._table.put_item(Item=item, **condition)
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True


def _seconds(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")
