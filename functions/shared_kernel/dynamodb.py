"""Small helpers for reading DynamoDB's conditional-write failures, and a scan's page."""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


def is_condition_failure(exc: ClientError) -> bool:
    """A single-item write whose ConditionExpression was false."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


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
