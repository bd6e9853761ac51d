"""Small helpers for reading DynamoDB's conditional-write failures, and the reconciler's scan
for items left in a status."""

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

_DESERIALIZER = TypeDeserializer()


def is_condition_failure(exc: ClientError) -> bool:
    """A single-item write whose ConditionExpression was false."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def refused_item(exc: ClientError) -> dict[str, Any]:
    """The item as it was when a single-item write's condition failed, from a write made with
    ``ReturnValuesOnConditionCheckFailure="ALL_OLD"`` (empty when there was no item). The
    error carries it in DynamoDB's wire format, even from a ``Table`` resource: it comes back
    as plain values here, as a ``Table`` read returns them."""
    response: dict[str, Any] = dict(exc.response)
    item: dict[str, Any] = response.get("Item") or {}
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def cancellation_codes(exc: ClientError) -> list[str] | None:
    """Per-item codes of a cancelled TransactWriteItems ("None" for items that were fine), or
    None when `exc` is not a transaction cancellation."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = exc.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


@dataclass(frozen=True)
class Page[T]:
    """One page of a scan: its items, and where the next page starts (None: the scan is done).
    The key is plain strings (``{"pk": ..., "sk": ...}``), so it can be stored and resumed."""

    items: list[T]
    next_key: dict[str, Any] | None


def scan_stale(
    table: Any,
    *,
    sk: str,
    status: str,
    changed_field: str,
    before: str,
    start: dict[str, Any] | None,
    limit: int,
) -> Page[dict[str, Any]]:
    """One page of a consistent scan of ``table`` (a boto3 ``Table``) for the items of kind
    ``sk`` still in ``status`` whose ``changed_field`` is before ``before`` (ISO time).
    ``limit`` is the number of items read (before the filter); resume from ``next_key``."""
    request: dict[str, Any] = {
        "FilterExpression": f"sk = :sk AND #status = :status AND {changed_field} < :before",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":sk": sk, ":status": status, ":before": before},
        "Limit": limit,
        "ConsistentRead": True,
    }
    if start:
        request["ExclusiveStartKey"] = start
    page = table.scan(**request)
    return Page(list(page.get("Items", [])), page.get("LastEvaluatedKey"))
