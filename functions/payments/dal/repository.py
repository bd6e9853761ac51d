"""Payments table access.

Items (every key is a string):
  authorisation     pk=AUTH#<orderId>      sk=AUTH      orderId, status, amount,
                                                         authorizationId | declineReason, ...;
                                                         while PENDING: correlationId,
                                                         causationId, taskToken (the saga's
                                                         AwaitPaymentConfirmation)
  provider attempts pk=PROVIDER#<orderId>  sk=ATTEMPTS  attempts (Number)
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments.models import Authorization, AuthorizationStatus
from shared_kernel import aws
from shared_kernel.dynamodb import Page, cancellation_codes, is_condition_failure, scan_stale
from shared_kernel.fencing import CONDITION_FAILED, Fence, fenced, raise_if_fenced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


AUTHORIZATION_SK = "AUTH"


def authorization_key(order_id: str) -> dict[str, str]:
    return {"pk": f"AUTH#{order_id}", "sk": AUTHORIZATION_SK}


def attempts_key(order_id: str) -> dict[str, str]:
    return {"pk": f"PROVIDER#{order_id}", "sk": "ATTEMPTS"}


class PaymentsRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._client = resource.meta.client

    def get_authorization(self, order_id: str) -> Authorization | None:
        item = self._table.get_item(Key=authorization_key(order_id), ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else Authorization.model_validate(item)

    def add_authorization(self, authorization: Authorization) -> Authorization:
        """Conditional put: the first outcome stored for an order wins and is returned."""
        item: dict[str, Any] = {
            **authorization_key(authorization.order_id),
            **authorization.model_dump(mode="json", by_alias=True, exclude_none=True),
            "amount": authorization.amount,
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            winner = self.get_authorization(authorization.order_id)
            if winner is not None:
                return winner
            raise  # pragma: no cover - records are never deleted
        return authorization

    def mark_voided(
        self, order_id: str, fence: Fence | None = None
    ) -> tuple[Authorization | None, bool]:
        """AUTHORIZED or PENDING -> VOIDED; returns the record as it now is, and whether this
        call voided it (False when the condition failed: it was neither any more). With a
        `fence`, a transaction that also checks the writer's lease (FencedOff when taken
        over)."""
        request: dict[str, Any] = {
            "Key": authorization_key(order_id),
            "UpdateExpression": "SET #status = :voided, updatedAt = :now",
            "ConditionExpression": "#status IN (:authorized, :pending)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":voided": AuthorizationStatus.VOIDED.value,
                ":authorized": AuthorizationStatus.AUTHORIZED.value,
                ":pending": AuthorizationStatus.PENDING.value,
                ":now": datetime.now(UTC).isoformat(),
            },
        }
        try:
            if fence is None:
                response = self._table.update_item(**request, ReturnValues="ALL_NEW")
                return Authorization.model_validate(response["Attributes"]), True
            update = {"TableName": self._table_name, **request}
            self._client.transact_write_items(TransactItems=fenced([{"Update": update}], fence))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            raise_if_fenced(codes, fence)
            if not (is_condition_failure(exc) or (codes and codes[0] == CONDITION_FAILED)):
                raise
            return self.get_authorization(order_id), False
        return self.get_authorization(order_id), True

    def attach_task_token(
        self, order_id: str, authorization_id: str, task_token: str
    ) -> Authorization | None:
        """Keep the saga's task token on the PENDING authorisation ``authorization_id`` (a
        retried wait replaces it). Returns the authorisation as it now is: PENDING (the token
        is stored), settled (its confirmation came first: the token is not stored), or None
        (no authorisation of that id)."""
        try:
            response = self._table.update_item(
                Key=authorization_key(order_id),
                UpdateExpression="SET taskToken = :token",
                ConditionExpression="#status = :pending AND authorizationId = :id",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":token": task_token,
                    ":pending": AuthorizationStatus.PENDING.value,
                    ":id": authorization_id,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            existing = self.get_authorization(order_id)
            if existing is None or existing.authorization_id != authorization_id:
                return None
            return existing
        return Authorization.model_validate(response["Attributes"])

    def settle_pending(
        self,
        order_id: str,
        authorization_id: str,
        status: AuthorizationStatus,
        decline_reason: str | None,
    ) -> tuple[Authorization | None, str | None, bool]:
        """PENDING -> ``status`` (AUTHORIZED or DECLINED, with ``decline_reason``) for the
        authorisation ``authorization_id``. Returns the authorisation as it now is (None: no
        authorisation of that id), the saga's task token stored on it (if any), and whether
        this call changed it."""
        update = "SET #status = :status, updatedAt = :now"
        values: dict[str, Any] = {
            ":status": status.value,
            ":pending": AuthorizationStatus.PENDING.value,
            ":id": authorization_id,
            ":now": datetime.now(UTC).isoformat(),
        }
        if decline_reason is not None:
            update += ", declineReason = :reason"
            values[":reason"] = decline_reason
        try:
            item: dict[str, Any] | None = self._table.update_item(
                Key=authorization_key(order_id),
                UpdateExpression=update,
                ConditionExpression="#status = :pending AND authorizationId = :id",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
            changed = True
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            item = self._table.get_item(Key=authorization_key(order_id), ConsistentRead=True).get(
                "Item"
            )
            if item is None or item.get("authorizationId") != authorization_id:
                return None, None, False
            changed = False
        assert item is not None
        token = item.get("taskToken")
        return Authorization.model_validate(item), None if token is None else str(token), changed

    def authorized_payments(
        self, updated_before: datetime, start: dict[str, Any] | None, limit: int
    ) -> Page[Authorization]:
        """One page of a scan for authorisations still AUTHORIZED that were last changed
        before `updated_before` (the reconciler's). `limit` is the number of items read."""
        page = scan_stale(
            self._table,
            sk=AUTHORIZATION_SK,
            status=AuthorizationStatus.AUTHORIZED.value,
            changed_field="updatedAt",
            before=updated_before.isoformat(),
            start=start,
            limit=limit,
        )
        return Page([Authorization.model_validate(item) for item in page.items], page.next_key)

    def count_provider_attempt(self, order_id: str) -> int:
        """Atomically count one more provider call for the order; returns the new count."""
        response = self._table.update_item(
            Key=attempts_key(order_id),
            UpdateExpression="ADD attempts :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["attempts"])  # type: ignore[arg-type]
