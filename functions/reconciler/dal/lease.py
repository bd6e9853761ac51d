"""The reconciler's lease table.

Item: pk=LEASE#<name>  sk=LEASE  owner, token (the fencing token: 1, 2, ..., incremented at
every acquisition), expiresAt (epoch milliseconds), acquiredAt, renewedAt, cursors (JSON: each
job's scan cursor). The item is never deleted (no TTL): the token must only ever grow.

Every change is a conditional write, so any number of concurrent callers get a consistent
answer: acquiring succeeds only if there is no lease or it expired; renewing and releasing only
while the token (and owner) are still the caller's.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.models import Cursor, Lease
from shared_kernel import aws
from shared_kernel.dynamodb import is_condition_failure
from shared_kernel.fencing import Fence, FencedOff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

LEASE_SK = "LEASE"
DEFAULT_LEASE = "reconciler"


def lease_key(name: str) -> dict[str, str]:
    return {"pk": f"LEASE#{name}", "sk": LEASE_SK}


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class LeaseTable:
    def __init__(
        self,
        table_name: str,
        name: str = DEFAULT_LEASE,
        dynamodb: "DynamoDBServiceResource | None" = None,
    ) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._key = lease_key(name)

    def acquire(self, owner: str, now: datetime, duration: timedelta) -> Lease | None:
        """Take the lease for `owner` until `now + duration` if nobody holds it (absent or
        expired), incrementing its token; None when someone else holds it."""
        expires = now + duration
        try:
            item = self._table.update_item(
                Key=self._key,
                UpdateExpression=(
                    "SET #owner = :me, expiresAt = :expires, acquiredAt = :now ADD #token :one"
                ),
                ConditionExpression="attribute_not_exists(pk) OR expiresAt <= :now_ms",
                ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                ExpressionAttributeValues={
                    ":me": owner,
                    ":expires": _millis(expires),
                    ":now": now.isoformat(),
                    ":now_ms": _millis(now),
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if is_condition_failure(exc):
                return None
            raise
        token = int(str(item["token"]))
        cursors = json.loads(str(item.get("cursors", "{}")))
        return Lease(owner, token, expires, self.fence(token), cursors)

    def renew(
        self, lease: Lease, now: datetime, duration: timedelta, cursors: dict[str, Cursor]
    ) -> Lease:
        """Extend the lease to `now + duration` and store the jobs' cursors, while it is still
        `lease`'s (same token and owner); FencedOff when another holder took over."""
        expires = now + duration
        try:
            self._table.update_item(
                Key=self._key,
                UpdateExpression="SET expiresAt = :expires, renewedAt = :now, cursors = :cursors",
                ConditionExpression="#token = :token AND #owner = :me",
                ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                ExpressionAttributeValues={
                    ":expires": _millis(expires),
                    ":now": now.isoformat(),
                    ":cursors": json.dumps(cursors, sort_keys=True),
                    ":token": lease.token,
                    ":me": lease.owner,
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise FencedOff(lease.token) from exc
            raise
        return Lease(lease.owner, lease.token, expires, lease.fence, dict(cursors))

    def release(self, lease: Lease, now: datetime) -> bool:
        """Let the next caller take the lease at once (expires now), if it is still `lease`'s;
        False when it was not (nothing to release). The token stays: the next acquisition
        increments it."""
        try:
            self._table.update_item(
                Key=self._key,
                UpdateExpression="SET expiresAt = :now_ms, releasedAt = :now",
                ConditionExpression="#token = :token AND #owner = :me",
                ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                ExpressionAttributeValues={
                    ":now_ms": _millis(now),
                    ":now": now.isoformat(),
                    ":token": lease.token,
                    ":me": lease.owner,
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def holder(self) -> dict[str, Any] | None:
        """Who holds (or last held) the lease: owner, token, expiresAt (ISO 8601)."""
        item = self._table.get_item(Key=self._key, ConsistentRead=True).get("Item")
        if item is None:
            return None
        expires = datetime.fromtimestamp(int(str(item["expiresAt"])) / 1000, UTC)
        return {
            "owner": item.get("owner"),
            "token": int(str(item["token"])),
            "expiresAt": expires.isoformat(),
        }

    def fence(self, token: int) -> Fence:
        """The fence of `token`: the check other stores add to their writes."""
        return Fence(self._table_name, self._key, token)
