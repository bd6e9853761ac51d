"""Creating and settling orders (no I/O: prices and storage are passed in)."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from orders.events import ORDER_PLACED, OrderPlacedData, order_placed
from orders.logic.lifecycle import Transition, decide
from orders.logic.pricing import PriceLookup, order_total, price_items
from orders.models import Order, OrderStatus, PlaceOrderRequest, SagaState
from shared_kernel.cloudevents import CloudEvent
from shared_kernel.errors import MalformedEventError


class OrderCreator(Protocol):
    def create_order(self, order: Order, placed: CloudEvent, payment_token: str) -> None:
        """The order, its OrderPlaced outbox item and its payment token, in one write."""
        ...


class OrderRecorder(Protocol):
    def record_order(
        self, order: Order, execution_id: str, payment_token: str | None = None
    ) -> Order: ...


class SettlementStore(Protocol):
    def require_order(self, order_id: str) -> Order: ...

    def settle_order(
        self, order: Order, target: OrderStatus, reason: str | None, outcome: CloudEvent
    ) -> Order | None: ...


def new_order(
    request: PlaceOrderRequest, customer_id: str, lookup: PriceLookup, correlation_id: str
) -> Order:
    """A PENDING order of ``customer_id`` (the authenticated customer) priced from the
    catalogue; raises UnknownSku."""
    lines, total = price_items(request.items, lookup)
    now = datetime.now(UTC)
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id=customer_id,
        status=OrderStatus.PENDING,
        items=lines,
        total=total,
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )


def place_new_order(
    request: PlaceOrderRequest,
    customer_id: str,
    correlation_id: str,
    lookup: PriceLookup,
    store: OrderCreator,
) -> Order:
    """Price the order and store it with its OrderPlaced event in the outbox and its payment
    token (one write); the event does not carry the token."""
    order = new_order(request, customer_id, lookup, correlation_id)
    store.create_order(order, order_placed(order), request.payment_token)
    return order


def order_from_event(placed: OrderPlacedData, event: CloudEvent) -> Order:
    """The PENDING order an OrderPlaced event describes (for events sent straight to the bus).

    The event's total must be the sum of its lines, as it is for orders placed through the API.
    """
    if order_total(placed.items) != placed.total:
        raise MalformedEventError("data.total", "does not equal the sum of the items")
    if placed.order_id != event.subject:
        raise MalformedEventError("data.orderId", "does not equal the event's subject")
    return Order(
        order_id=placed.order_id,
        customer_id=placed.customer_id,
        status=OrderStatus.PENDING,
        items=placed.items,
        total=placed.total,
        correlation_id=event.correlationid,
        created_at=event.time,
        updated_at=event.time,
    )


def record_order(placed_event: CloudEvent, execution_id: str, store: OrderRecorder) -> SagaState:
    """The saga state for the order `placed_event` describes, recorded (created if it came
    straight from the bus) and claimed for `execution_id`; raises MalformedEventError for an
    event that is not a valid OrderPlaced, SagaAlreadyStarted for a second execution.

    A payment token the event carries (one sent from outside) is stored with the order, never
    passed on: the saga state holds no token."""
    if placed_event.type != ORDER_PLACED:
        raise MalformedEventError("type", f"expected {ORDER_PLACED}, got {placed_event.type}")
    placed = placed_event.data_as(OrderPlacedData)
    order = store.record_order(
        order_from_event(placed, placed_event), execution_id, placed.payment_token
    )
    return SagaState(
        order_id=order.order_id,
        customer_id=order.customer_id,
        items=order.items,
        total=order.total,
        correlation_id=placed_event.correlationid,
        causation_id=placed_event.id,
    )


def completion_latency_ms(order: Order) -> float:
    """How long a settled order took, from its creation to its settlement (``updatedAt``), in
    ms; never negative (an order sent straight to the bus is created at its event's time, by
    another host's clock)."""
    return max(0.0, (order.updated_at - order.created_at).total_seconds() * 1000)


def settle(
    order_id: str,
    target: OrderStatus,
    reason: str | None,
    store: SettlementStore,
    outcome: Callable[[Order], CloudEvent],
) -> tuple[Order, bool]:
    """Move a PENDING order to `target` and queue its outcome event, once.

    Returns (order, changed). Settling again to the same state changes nothing (the outcome was
    queued by the first call, in the same transaction); settling a CONFIRMED order as
    CANCELLED or vice versa raises OrderStateConflict; a missing order raises OrderNotFound.
    """
    order = store.require_order(order_id)
    if decide(order_id, order.status, target) is Transition.ALREADY_DONE:
        return order, False
    settled = store.settle_order(order, target, reason, outcome(order))
    if settled is not None:
        return settled, True
    current = store.require_order(order_id)  # a concurrent call settled it first
    decide(order_id, current.status, target)
    return current, False
