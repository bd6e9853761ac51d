"""Small helpers for reading DynamoDB's conditional-write failures."""

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
