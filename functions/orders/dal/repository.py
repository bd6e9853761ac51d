"""Orders table access (single table, stream NEW_AND_OLD_IMAGES for the outbox relay). The
read model is in a table of its own (dal/views.py).

Items (every key is a string):
  order    pk=ORDER#<orderId>   sk=ORDER                      the write model (models.Order),
                                                              placedEventId, sagaExecution (the
                                                              claim), sagaRestarts (reconciler)
  payment  pk=ORDER#<orderId>   sk=PAYMENT_TOKEN              paymentToken: the order's payment
                                                              token, kept out of every event and
                                                              of the saga state; read (GetItem
                                                              only) by payments' AuthorizePayment
  outbox   pk=OUTBOX#<eventId>  sk=OUTBOX                     status PENDING|SENT, event (CloudEvent
                                                              JSON), eventType, orderId,
                                                              correlationId, traceHeader (the
                                                              writer's X-Ray trace header),
                                                              attempts, lastError, createdAt, sentAt
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from orders.errors import OrderNotFound, SagaAlreadyStarted
from orders.models import (
    OUTBOX_PENDING,
    OUTBOX_PREFIX,
    OUTBOX_SK,
    Order,
    OrderRecord,
    OrderStatus,
    OutboxItem,
)
from shared_kernel import aws
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.dynamodb import Page, cancellation_codes, is_condition_failure, scan_stale
from shared_kernel.fencing import Fence, fenced, raise_if_fenced
from shared_kernel.tracing import current_trace_header

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

ORDER_SK = "ORDER"
PAYMENT_TOKEN_SK = "PAYMENT_TOKEN"
PAYMENT_TOKEN_ATTRIBUTE = "paymentToken"
OUTBOX_SENT = "SENT"
CONDITION_FAILED = "ConditionalCheckFailed"


def order_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": ORDER_SK}


def payment_token_key(order_id: str) -> dict[str, str]:
    """The order's payment token item (payments' ``OrderPaymentTokens`` reads it)."""
    return {"pk": f"ORDER#{order_id}", "sk": PAYMENT_TOKEN_SK}


def payment_token_item(order_id: str, payment_token: str) -> dict[str, str]:
    return {**payment_token_key(order_id), PAYMENT_TOKEN_ATTRIBUTE: payment_token}


def outbox_key(event_id: str) -> dict[str, str]:
    return {"pk": f"{OUTBOX_PREFIX}{event_id}", "sk": OUTBOX_SK}


class OrdersRepository:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        resource = dynamodb or aws.dynamodb()
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._client = resource.meta.client

    # -- write model --------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order | None:
        item = self.order_item(order_id, consistent=True)
        return None if item is None else Order.model_validate(item)

    def order_item(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """The order item as stored (None if absent)."""
        return self._table.get_item(Key=order_key(order_id), ConsistentRead=consistent).get("Item")

    def create_order(self, order: Order, placed: CloudEvent, payment_token: str) -> None:
        """The order, its OrderPlaced outbox item and its payment token item, in one
        transaction."""
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._table_name,
                    # placedEventId: where a restarted saga finds its OrderPlaced (reconciler)
                    "Item": {**_order_item(order), "placedEventId": placed.id},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._outbox_put(placed),
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": payment_token_item(order.order_id, payment_token),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        self._client.transact_write_items(TransactItems=actions)

    def record_order(
        self, order: Order, execution_id: str, payment_token: str | None = None
    ) -> Order:
        """Create the order unless it exists (e.g. placed through the API) and claim its saga
        for ``execution_id``; returns the stored order. No outbox item: the event that carries
        the order is already on the bus. ``payment_token`` (from an OrderPlaced sent from
        outside) is stored as the order's token unless it has one.

        The claim makes the saga's start idempotent: a second execution for the same order
        (OrderPlaced delivered twice) raises SagaAlreadyStarted instead of reserving, charging
        and waiting for a shipment a second time. The owning execution may repeat the step.
        """
        if payment_token is not None:
            self._store_payment_token(order.order_id, payment_token)
        # The claim first: an order placed through the API exists already (one request, not a
        # refused create and then the claim); a refused claim means absent, or claimed by
        # another execution, and the create tells which.
        claimed = self._claim_saga(order.order_id, execution_id)
        if claimed is not None:
            return claimed
        try:
            self._table.put_item(
                Item={**_order_item(order), "sagaExecution": execution_id},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return order
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
        claimed = self._claim_saga(order.order_id, execution_id)  # created meanwhile
        if claimed is not None:
            return claimed
        owner = self._table.get_item(Key=order_key(order.order_id)).get("Item", {})
        raise SagaAlreadyStarted(order.order_id, str(owner.get("sagaExecution")))

    def _claim_saga(self, order_id: str, execution_id: str) -> Order | None:
        """Claim an existing order's saga for ``execution_id`` (if unclaimed, or claimed by
        it already): the stored order, or None when the order is absent or another execution
        holds the claim."""
        try:
            stored = self._table.update_item(
                Key=order_key(order_id),
                UpdateExpression="SET sagaExecution = :me",
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(attribute_not_exists(sagaExecution) OR sagaExecution = :me)"
                ),
                ExpressionAttributeValues={":me": execution_id},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return Order.model_validate(stored)

    def _store_payment_token(self, order_id: str, payment_token: str) -> None:
        """The order's token, unless it has one (the first one stored wins)."""
        try:
            self._table.put_item(
                Item=payment_token_item(order_id, payment_token),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def settle_order(
        self,
        order: Order,
        target: OrderStatus,
        reason: str | None,
        outcome: CloudEvent,
        fence: Fence | None = None,
    ) -> Order | None:
        """PENDING -> `target` together with the outcome's outbox item, in one transaction.

        Returns the settled order, or None when the order was no longer PENDING (a concurrent
        step settled it first; the caller re-reads and decides). With a `fence`, the
        transaction also checks the writer's lease (FencedOff when it was taken over).
        """
        now = datetime.now(UTC)
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":target": target.value,
            ":pending": OrderStatus.PENDING.value,
            ":now": now.isoformat(),
        }
        update = "SET #status = :target, updatedAt = :now"
        if reason is not None:
            update += ", reason = :reason"
            values[":reason"] = reason
        actions: list[Any] = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": order_key(order.order_id),
                    "UpdateExpression": update,
                    "ConditionExpression": "#status = :pending",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            self._outbox_put(outcome),
        ]
        try:
            self._client.transact_write_items(TransactItems=fenced(actions, fence))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            raise_if_fenced(codes, fence)
            if codes and codes[0] == CONDITION_FAILED:
                return None
            raise
        return order.model_copy(update={"status": target, "reason": reason, "updated_at": now})

    # -- outbox -------------------------------------------------------------------------

    def _outbox_put(self, event: CloudEvent) -> dict[str, Any]:
        """The outbox item of ``event``, with the X-Ray trace header of the code writing it:
        the relay publishes the event in that trace (shared_kernel.tracing)."""
        item: dict[str, Any] = {
            **outbox_key(event.id),
            "status": OUTBOX_PENDING,
            "event": event.to_json(),
            "eventType": event.type,
            "orderId": event.subject,
            "correlationId": event.correlationid,
            "attempts": 0,
            "createdAt": datetime.now(UTC).isoformat(),
        }
        trace_header = current_trace_header()
        if trace_header is not None:
            item["traceHeader"] = trace_header
        return {
            "Put": {
                "TableName": self._table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def mark_outbox_sent(self, event_id: str, fence: Fence | None = None) -> bool:
        """PENDING -> SENT; False when it was not PENDING any more (already sent: the relay's
        stream record was a duplicate delivery)."""
        return self._update_outbox(
            event_id,
            "SET #status = :sent, sentAt = :now",
            {":sent": OUTBOX_SENT, ":now": datetime.now(UTC).isoformat()},
            fence,
        )

    def record_outbox_failure(self, event_id: str, error: str, fence: Fence | None = None) -> None:
        """Count a failed relay attempt and keep its error, so a stuck item is visible."""
        self._update_outbox(
            event_id,
            "SET lastError = :error, lastAttemptAt = :now ADD attempts :one",
            {":error": error[:1000], ":now": datetime.now(UTC).isoformat(), ":one": 1},
            fence,
        )

    def claim_outbox_retry(self, event_id: str, fence: Fence) -> bool:
        """Record that the reconciler is about to publish a stuck PENDING item again
        (``reconciledAt``, ``reconcilerToken``, one more ``attempts``); False when it is not
        PENDING any more. Changing ``attempts`` keeps the relay from relaying this MODIFY too
        (logic.outbox.should_relay)."""
        return self._update_outbox(
            event_id,
            "SET reconciledAt = :now, reconcilerToken = :token ADD attempts :one",
            {":now": datetime.now(UTC).isoformat(), ":token": fence.token, ":one": 1},
            fence,
        )

    def _update_outbox(
        self, event_id: str, update: str, values: dict[str, Any], fence: Fence | None
    ) -> bool:
        """`update` on the outbox item if it is still PENDING (False if not); with a `fence`,
        in a transaction that also checks the writer's lease."""
        request: dict[str, Any] = {
            "Key": outbox_key(event_id),
            "UpdateExpression": update,
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {**values, ":pending": OUTBOX_PENDING},
        }
        return self._conditional_update(request, fence)

    def _conditional_update(self, request: dict[str, Any], fence: Fence | None) -> bool:
        """One conditional update; False when its condition failed. With a `fence` it is a
        transaction with the lease's check (FencedOff when that failed)."""
        try:
            if fence is None:
                self._table.update_item(**request)
            else:
                update = {"TableName": self._table_name, **request}
                self._client.transact_write_items(TransactItems=fenced([{"Update": update}], fence))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            raise_if_fenced(codes, fence)
            if is_condition_failure(exc) or (codes and codes[0] == CONDITION_FAILED):
                return False
            raise
        return True

    def get_outbox_event(self, event_id: str) -> tuple[CloudEvent, datetime | None] | None:
        """The CloudEvent an outbox item carries and when it was SENT (None: still PENDING),
        or None if there is no such item."""
        item = self._table.get_item(Key=outbox_key(event_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        sent_at = item.get("sentAt") if item.get("status") == OUTBOX_SENT else None
        event = CloudEvent.model_validate_json(str(item["event"]))
        return event, None if sent_at is None else datetime.fromisoformat(str(sent_at))

    # -- reconciliation (reconciler) ----------------------------------------------------

    def pending_outbox(
        self, created_before: datetime, start: dict[str, Any] | None, limit: int
    ) -> Page[OutboxItem]:
        """One page of a scan for outbox items still PENDING that were written before
        `created_before`. `limit` is the number of items read (before the filter)."""
        page = scan_stale(
            self._table,
            sk=OUTBOX_SK,
            status=OUTBOX_PENDING,
            changed_field="createdAt",
            before=created_before.isoformat(),
            start=start,
            limit=limit,
        )
        return Page([OutboxItem.model_validate(item) for item in page.items], page.next_key)

    def stalled_orders(
        self, created_before: datetime, start: dict[str, Any] | None, limit: int
    ) -> Page[OrderRecord]:
        """One page of a scan for orders still PENDING that were created before
        `created_before`, with their saga bookkeeping."""
        page = scan_stale(
            self._table,
            sk=ORDER_SK,
            status=OrderStatus.PENDING.value,
            changed_field="createdAt",
            before=created_before.isoformat(),
            start=start,
            limit=limit,
        )
        return Page([OrderRecord.model_validate(item) for item in page.items], page.next_key)

    def get_order_record(self, order_id: str) -> OrderRecord | None:
        item = self._table.get_item(Key=order_key(order_id), ConsistentRead=True).get("Item")
        return None if item is None else OrderRecord.model_validate(item)

    def reclaim_saga(self, order: OrderRecord, execution_id: str, fence: Fence) -> bool:
        """Hand a PENDING order's saga claim to `execution_id` (a restart) and count the
        restart, on condition that nothing changed since `order` was read (status, claim,
        restarts); False otherwise. The restarted execution's RecordOrder then finds the claim
        its own."""
        values: dict[str, Any] = {
            ":me": execution_id,
            ":pending": OrderStatus.PENDING.value,
            ":restarts": order.saga_restarts + 1,
            ":seen_restarts": order.saga_restarts,
            ":now": datetime.now(UTC).isoformat(),
        }
        condition = "#status = :pending AND "
        if order.saga_execution is None:
            condition += "attribute_not_exists(sagaExecution)"
        else:
            condition += "sagaExecution = :seen"
            values[":seen"] = order.saga_execution
        if order.saga_restarts:
            condition += " AND sagaRestarts = :seen_restarts"
        else:
            condition += " AND attribute_not_exists(sagaRestarts)"
            del values[":seen_restarts"]
        request: dict[str, Any] = {
            "Key": order_key(order.order_id),
            "UpdateExpression": (
                "SET sagaExecution = :me, sagaRestarts = :restarts, sagaRestartedAt = :now"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        return self._conditional_update(request, fence)

    def require_order(self, order_id: str) -> Order:
        order = self.get_order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order


def _order_item(order: Order) -> dict[str, Any]:
    item = order.model_dump(mode="json", by_alias=True, exclude_none=True)
    item["total"] = order.total
    item["items"] = [line.model_dump(by_alias=True) for line in order.items]
    return {**order_key(order.order_id), **item}
