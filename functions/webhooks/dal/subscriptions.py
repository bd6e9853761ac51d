"""The subscriptions table (metadata only; the secret is in Secrets Manager).

  subscription  pk=CLIENT#<apiKeyId>  sk=WEBHOOK#<id>   the client's subscriptions in one query
  version       pk=META               sk=VERSION        bumped by every change the fan-out sees

The fan-out keeps every subscription in memory and reads the version item (one consistent
GetItem per batch) to know when to scan again: a new, deleted, disabled or re-enabled
subscription is seen by the next event, and an idle table costs one read per batch.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared_kernel import aws
from shared_kernel.dynamodb import cancellation_codes, is_condition_failure
from webhooks.models import Subscription

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

CLIENT_PREFIX = "CLIENT#"
WEBHOOK_PREFIX = "WEBHOOK#"
VERSION_KEY = {"pk": "META", "sk": "VERSION"}


def _key(client: str, subscription_id: str) -> dict[str, str]:
    return {"pk": f"{CLIENT_PREFIX}{client}", "sk": f"{WEBHOOK_PREFIX}{subscription_id}"}


def _subscription(item: dict[str, Any]) -> Subscription:
    fields = {k: v for k, v in item.items() if k not in ("pk", "sk")}
    return Subscription.model_validate(fields)


class SubscriptionsTable:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._cached: tuple[int, list[Subscription]] | None = None

    # -- the API's operations ------------------------------------------------------------

    def put(self, subscription: Subscription) -> None:
        item = {**_key(subscription.client, subscription.id), **subscription.to_wire()}
        self._changed({"Put": {"Item": item}})

    def get(self, client: str, subscription_id: str) -> Subscription | None:
        item = self._table.get_item(Key=_key(client, subscription_id), ConsistentRead=True)
        return _subscription(item["Item"]) if "Item" in item else None

    def of_client(self, client: str) -> list[Subscription]:
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": f"{CLIENT_PREFIX}{client}", ":sk": WEBHOOK_PREFIX},
        )
        return [_subscription(item) for item in response["Items"]]

    def delete(self, client: str, subscription_id: str) -> bool:
        try:
            self._changed(
                {"Delete": {"Key": _key(client, subscription_id), **_exists()}},
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    def set_enabled(self, client: str, subscription_id: str, enabled: bool) -> None:
        self._changed(
            {
                "Update": {
                    "Key": _key(client, subscription_id),
                    "UpdateExpression": "SET enabled = :e, consecutiveFailures = :z "
                    "REMOVE disabledReason",
                    "ExpressionAttributeValues": {":e": enabled, ":z": 0},
                    **_exists(),
                }
            }
        )

    def set_secret_version(self, client: str, subscription_id: str, version: int) -> None:
        self._table.update_item(
            Key=_key(client, subscription_id),
            UpdateExpression="SET secretVersion = :v",
            ExpressionAttributeValues={":v": version},
        )

    # -- the deliverer's bookkeeping ------------------------------------------------------

    def record_success(self, client: str, subscription_id: str) -> None:
        try:
            self._table.update_item(
                Key=_key(client, subscription_id),
                UpdateExpression="SET consecutiveFailures = :z",
                ConditionExpression="attribute_exists(pk) AND consecutiveFailures <> :z",
                ExpressionAttributeValues={":z": 0},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):  # already 0, or deleted meanwhile
                raise

    def record_failure(
        self, client: str, subscription_id: str, *, disable_after: int, reason: str
    ) -> bool:
        try:
            updated = self._table.update_item(
                Key=_key(client, subscription_id),
                UpdateExpression="ADD consecutiveFailures :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        if int(str(updated["consecutiveFailures"])) < disable_after or not updated["enabled"]:
            return False
        try:  # one of concurrent failures disables it, and says so
            self._changed(
                {
                    "Update": {
                        "Key": _key(client, subscription_id),
                        "UpdateExpression": "SET enabled = :f, disabledReason = :r",
                        "ConditionExpression": "enabled = :t",
                        "ExpressionAttributeValues": {":f": False, ":t": True, ":r": reason},
                    }
                }
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    # -- the fan-out's view -------------------------------------------------------------

    def all(self) -> list[Subscription]:
        """Every subscription, from memory unless the version item says something changed."""
        item = self._table.get_item(Key=VERSION_KEY, ConsistentRead=True).get("Item", {})
        version = int(str(item.get("version", 0)))
        if self._cached is None or self._cached[0] != version:
            self._cached = (version, self._scan())
        return self._cached[1]

    def _scan(self) -> list[Subscription]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(sk, :sk)",
            "ExpressionAttributeValues": {":sk": WEBHOOK_PREFIX},
            "ConsistentRead": True,
        }
        while True:
            page = self._table.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return [_subscription(item) for item in items]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _changed(self, write: dict[str, Any]) -> None:
        """``write`` and the version bump, in one transaction."""
        table = self._table.name
        for operation in write.values():
            operation["TableName"] = table
        self._table.meta.client.transact_write_items(
            TransactItems=[
                write,  # type: ignore[list-item]
                {
                    "Update": {
                        "TableName": table,
                        "Key": VERSION_KEY,
                        "UpdateExpression": "ADD version :one",
                        "ExpressionAttributeValues": {":one": 1},
                    }
                },
            ]
        )


def _exists() -> dict[str, str]:
    return {"ConditionExpression": "attribute_exists(pk)"}


def _cancelled_by_condition(exc: ClientError) -> bool:
    return "ConditionalCheckFailed" in (cancellation_codes(exc) or [])
