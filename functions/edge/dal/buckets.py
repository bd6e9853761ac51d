"""The rate-limit table: one item per API key, changed only by conditional updates.

Item: ``pk = KEY#<apiKeyId>``, ``tat`` (N, µs), ``quotaDay`` (S, ``YYYY-MM-DD`` UTC),
``quotaUsed`` (N), ``expiresAt`` (N, epoch seconds: the table's TTL attribute; an idle key's
item disappears two days after its last admitted request, when it no longer matters).
The key id, never the key itself, is stored.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from edge.models import MICROS, SECONDS_PER_DAY, BucketState, PlanLimits, QuotaStep, RateStep, Step
from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

KEEP_IDLE_S = 2 * SECONDS_PER_DAY

_RATE = {
    RateStep.FULL: ("tat = :next", "(attribute_not_exists(tat) OR tat <= :now)"),
    RateStep.BUSY: ("tat = tat + :interval", "(tat > :now AND tat <= :latest)"),
}
_QUOTA = {
    QuotaStep.SAME_DAY: (None, "(quotaDay = :today AND quotaUsed < :quota)"),
    QuotaStep.NEW_DAY: (
        "quotaDay = :today, quotaUsed = :one",
        "(attribute_not_exists(quotaDay) OR quotaDay <> :today)",
    ),
}


@dataclass(frozen=True)
class Outcome:
    """``applied``: the request was admitted and ``state`` is the key's new state. Otherwise a
    concurrent update changed the key and ``state`` is what is stored now."""

    applied: bool
    state: BucketState


def bucket_key(api_key_id: str) -> dict[str, str]:
    return {"pk": f"KEY#{api_key_id}"}


class BucketStore:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table = resource.Table(table_name)

    def apply(self, api_key_id: str, step: Step, limits: PlanLimits) -> Outcome:
        """One conditional UpdateItem admitting a request as ``step`` planned it."""
        rate_set, rate_condition = _RATE[step.rate]
        quota_set, quota_condition = _QUOTA[step.quota]
        assignments = [rate_set, "expiresAt = :expires"] + ([quota_set] if quota_set else [])
        update = "SET " + ", ".join(assignments)
        values: dict[str, Any] = {
            ":now": step.now_us,
            ":today": step.today,
            ":expires": step.now_us // MICROS + KEEP_IDLE_S,
        }
        if step.rate is RateStep.FULL:
            values[":next"] = step.now_us + limits.interval_us
        else:
            values[":interval"] = limits.interval_us
            values[":latest"] = step.now_us + limits.tolerance_us - limits.interval_us
        if step.quota is QuotaStep.SAME_DAY:
            update += " ADD quotaUsed :one"
            values[":quota"] = limits.daily_quota
        values[":one"] = 1
        try:
            response = self._table.update_item(
                Key=bucket_key(api_key_id),
                UpdateExpression=update,
                ConditionExpression=f"{rate_condition} AND {quota_condition}",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            # DynamoDB returns the item that failed the condition; fall back to reading it.
            stored = cast("dict[str, Any] | None", exc.response.get("Item"))
            return Outcome(False, _state(stored) if stored else self.read(api_key_id))
        return Outcome(True, _state(response["Attributes"]))

    def read(self, api_key_id: str) -> BucketState:
        item = self._table.get_item(Key=bucket_key(api_key_id), ConsistentRead=True).get("Item")
        return _state(item) if item else BucketState()


def _state(item: dict[str, Any]) -> BucketState:
    """A state from an item in either the resource's form or the low-level one (the failed
    condition's ``Item`` comes typed: ``{"tat": {"N": "..."}}``)."""

    def plain(name: str) -> Any:
        value = item.get(name)
        if isinstance(value, dict):
            return value.get("N", value.get("S"))
        return value

    tat, day, used = plain("tat"), plain("quotaDay"), plain("quotaUsed")
    return BucketState(
        tat=None if tat is None else int(tat),
        quota_day=None if day is None else str(day),
        quota_used=0 if used is None else int(used),
    )
