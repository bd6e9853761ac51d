"""Saga step RecordOrder (first state): the order described by OrderPlaced, created if needed.

Input: {"event": the EventBridge event that started the execution, "executionId": the
execution's ARN}. Output (the saga state): {orderId, customerId, items: [{sku, quantity,
unitPrice}], total, correlationId, causationId}: no payment token (an OrderPlaced sent from
outside may carry one: it is stored in the orders store, where AuthorizePayment reads it). An
order placed through the API already exists and is returned as stored; an OrderPlaced sent
straight to the bus creates it (conditional put), so both entry points continue the same way.
The step also claims the order's saga for this execution: a second execution for the same
order (a duplicate delivery of OrderPlaced) gets SagaAlreadyStarted (Catch -> succeed without
doing anything). Raises
MalformedEventError (Catch -> the malformed-events queue) when the event or its data is invalid.
"""

from orders.dal import get_repository
from orders.errors import SagaAlreadyStarted
from orders.logic.orders import record_order
from orders.models import RecordOrderInput, SagaState
from shared_kernel.errors import MalformedEventError
from shared_kernel.handlers import saga_step
from shared_kernel.observability import bind_event


@saga_step(RecordOrderInput, raises=(MalformedEventError, SagaAlreadyStarted))
def handler(step: RecordOrderInput) -> SagaState:
    bind_event(step.event.detail)  # its log lines and its span carry the order's ids
    return record_order(step.event.detail, step.execution_id, get_repository())
