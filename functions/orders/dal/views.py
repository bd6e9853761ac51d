"""The read model: the views table (no stream), one item per order, written by the projector.

Item (keys are strings):
  view  pk=ORDER#<orderId>  sk=VIEW  status, customerId, items, total, placedAt, reason (the
                                     view: models.ViewChange); history (map: event id -> the
                                     event as GET /orders shows it, with its ``sequence``);
                                     lastSequence (the order's logical clock); updatedAt

One recorded event is one conditional ``UpdateItem`` of that item: the event's history entry,
its change to the view and the clock move together, or not at all. The table has no stream:
nothing downstream reads the read model's changes, so they cost no stream records (on the
orders table, each of them was a stream record the outbox relay's filter had to drop).

Bound: DynamoDB items hold at most 400 KB. An order's history is the handful of events of one
order's life (about a kilobyte each, secrets dropped); a redelivered or replayed event is
recorded once, so the history cannot grow past the events there are about the order.
"""

from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from orders import events
from orders.errors import ProjectionContention
from orders.models import ViewChange
from shared_kernel import aws
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.dynamodb import is_condition_failure, refused_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

VIEW_SK = "VIEW"
SEQUENCE_ATTEMPTS = 5
"""How often a projector numbers an event again after another projector took the number it
had, before the record fails (and is received again)."""
KNOWN_CLOCKS = 4096
"""How many orders' clocks a projector remembers (the last number it wrote for each): the
next event of such an order is written with it at once."""


def view_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": VIEW_SK}


def history_of(view: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The recorded history entries of a view item (in no particular order)."""
    return list((view or {}).get("history", {}).values())


class OrderViews:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)
        self._clocks: OrderedDict[str, int] = OrderedDict()

    def record_event(self, event: CloudEvent, entry: dict[str, Any], change: ViewChange) -> bool:
        """Add the event to its order's history with the order's next sequence number, and
        apply `change` to the view, in one conditional write; False if the event was there
        already.

        The sequence number is a logical clock: ``lastSequence`` plus one, written on condition
        that ``lastSequence`` is still the number it follows, so two projectors recording
        events of one order at once get 1, 2, ... and never the same number. Wall-clock times
        of the functions that wrote the events play no part in it. The write assumes the
        number this projector wrote last for the order (0 for an order it has not seen); a
        refused write returns the stored view (``ALL_OLD``), which says whether the event is
        recorded already and, if not, the number to write after.
        """
        order_id = event.subject
        last = self._clocks.pop(order_id, 0)
        for _ in range(SEQUENCE_ATTEMPTS):
            try:
                self._table.update_item(**_record(order_id, event.id, entry, last, change))
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
                stored = refused_item(exc)
                if event.id in stored.get("history", {}):
                    return False  # recorded by an earlier delivery, view change included
                last = int(stored.get("lastSequence", 0))  # another event took this number
                continue
            self._remember_clock(order_id, last + 1)
            return True
        raise ProjectionContention(order_id, SEQUENCE_ATTEMPTS)

    def _remember_clock(self, order_id: str, sequence: int) -> None:
        self._clocks[order_id] = sequence
        if len(self._clocks) > KNOWN_CLOCKS:
            self._clocks.popitem(last=False)

    def view(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """The order's view item, history included (None: no event recorded yet)."""
        return self._table.get_item(Key=view_key(order_id), ConsistentRead=consistent).get("Item")

    def order_version(self, order_id: str) -> int:
        """The view's ``lastSequence`` (0: no event recorded yet): one strongly consistent
        GetItem of one attribute, what a long poll reads while it waits."""
        view = self._table.get_item(
            Key=view_key(order_id), ConsistentRead=True, ProjectionExpression="lastSequence"
        ).get("Item", {})
        return int(str(view.get("lastSequence", 0)))


class OrderItems(Protocol):
    def order_item(self, order_id: str, *, consistent: bool = False) -> dict[str, Any] | None: ...


class OrderReads:
    """What ``GET /orders/{orderId}`` reads (``orders.logic.follow.OrderReader``): the order's
    view, and the order item of the orders table only while the view has not recorded
    OrderPlaced (until then, only the order item knows the order's customer and lines)."""

    def __init__(self, views: OrderViews, orders: OrderItems) -> None:
        self._views = views
        self._orders = orders

    def read_order(
        self, order_id: str, *, consistent: bool = False
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The order item (None when it was not needed, or is absent) and the recorded
        history entries."""
        history = history_of(self._views.view(order_id, consistent=consistent))
        if any(entry.get("type") == events.ORDER_PLACED for entry in history):
            return None, history
        return self._orders.order_item(order_id, consistent=consistent), history

    def order_version(self, order_id: str) -> int:
        return self._views.order_version(order_id)


def _record(
    order_id: str, event_id: str, entry: dict[str, Any], last: int, change: ViewChange
) -> dict[str, Any]:
    """The UpdateItem recording one event as number ``last + 1``: on condition that the clock
    is still ``last`` and the event is not in the history yet."""
    numbered = {**entry, "sequence": last + 1}
    names: dict[str, str] = {"#history": "history"}
    values: dict[str, Any] = {":now": datetime.now(UTC).isoformat(), ":next": last + 1}
    assignments = ["updatedAt = :now", "lastSequence = :next"]
    if last:
        names["#event"] = event_id
        values.update({":entry": numbered, ":last": last})
        assignments.append("#history.#event = :entry")
        condition = "lastSequence = :last AND attribute_not_exists(#history.#event)"
    else:
        # The first event creates the history map (a path into a missing map is an error).
        values[":history"] = {event_id: numbered}
        assignments.append("#history = :history")
        condition = "attribute_not_exists(lastSequence)"
    for index, (name, value) in enumerate(change.always.items()):
        names[f"#a{index}"] = name
        values[f":a{index}"] = value
        assignments.append(f"#a{index} = :a{index}")
    for index, (name, value) in enumerate(change.if_absent.items()):
        names[f"#i{index}"] = name
        values[f":i{index}"] = value
        assignments.append(f"#i{index} = if_not_exists(#i{index}, :i{index})")
    return {
        "Key": view_key(order_id),
        "UpdateExpression": "SET " + ", ".join(assignments),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
