"""Asynchronous payment confirmation: the saga's wait for it, and the provider's webhook that
brings it (no I/O: the store, the task completer and the bus are passed in).

The saga's AwaitPaymentConfirmation keeps its task token on the PENDING authorisation; the
webhook settles the authorisation and completes the task with that token. Both are single-item
conditional writes of the same item, so one of them comes second and sees the other's work:

- the token is stored first: the webhook's write returns it, and the webhook completes the task;
- the confirmation is stored first: storing the token fails its condition (no longer PENDING),
  and the wait completes its own task at once.
"""

import json
from typing import Protocol

from payments import events
from payments.errors import PaymentDeclined, UnknownAuthorization
from payments.logic.authorization import Publisher
from payments.models import (
    Authorization,
    AuthorizationStatus,
    AwaitConfirmationInput,
    PaymentConfirmation,
    PaymentOutput,
)
from shared_kernel.models import StepInput

CONFIRMED_STATUS = {
    "payment.authorized": AuthorizationStatus.AUTHORIZED,
    "payment.declined": AuthorizationStatus.DECLINED,
}
DECLINED_WITHOUT_REASON = "DECLINED"


class ConfirmationStore(Protocol):
    def attach_task_token(
        self, order_id: str, authorization_id: str, task_token: str
    ) -> Authorization | None: ...

    def settle_pending(
        self,
        order_id: str,
        authorization_id: str,
        status: AuthorizationStatus,
        decline_reason: str | None,
    ) -> tuple[Authorization | None, str | None, bool]: ...


class TaskCompleter(Protocol):
    """Step Functions' task tokens. Each returns False when the task is gone (it timed out, or
    was completed before): nothing is waiting for the answer any more."""

    def succeed(self, task_token: str, output: dict[str, object]) -> bool: ...

    def fail(self, task_token: str, error: str, cause: str) -> bool: ...


def await_confirmation(
    step: AwaitConfirmationInput, store: ConfirmationStore, tasks: TaskCompleter
) -> str:
    """Keep the task token on the PENDING authorisation: ``waiting``. If the confirmation came
    first, complete the task now: ``completed`` (or ``gone``). UnknownAuthorization when the
    order has no authorisation of that id."""
    authorization = store.attach_task_token(step.order_id, step.authorization_id, step.task_token)
    if authorization is None:
        raise UnknownAuthorization(step.order_id, step.authorization_id)
    if authorization.status is AuthorizationStatus.PENDING:
        return "waiting"
    return "completed" if complete_task(step.task_token, authorization, tasks) else "gone"


def confirm_payment(
    confirmation: PaymentConfirmation,
    store: ConfirmationStore,
    tasks: TaskCompleter,
    bus: Publisher,
) -> tuple[str, Authorization]:
    """Record the provider's confirmation of a PENDING authorisation, publish its outcome
    (PaymentAuthorized or PaymentDeclined, with the id the step would have given it) and
    complete the saga's wait, if it is waiting.

    Returns (``recorded`` | ``already-settled`` | ``ignored``, the authorisation).
    ``already-settled``: it had this outcome already (a repeated confirmation; the event and
    the task's completion are repeated, harmlessly, in case the first attempt stopped between
    them); ``ignored``: it was settled otherwise (VOIDED when the saga's wait timed out).
    Raises UnknownAuthorization when the order has no authorisation of that id.
    """
    data = confirmation.data
    target = CONFIRMED_STATUS[confirmation.type]
    reason = (
        (data.reason or DECLINED_WITHOUT_REASON) if target is AuthorizationStatus.DECLINED else None
    )
    authorization, task_token, changed = store.settle_pending(
        data.order_id, data.authorization_id, target, reason
    )
    if authorization is None:
        raise UnknownAuthorization(data.order_id, data.authorization_id)
    if authorization.status is not target:
        return "ignored", authorization
    if authorization.correlation_id is not None:
        flow = StepInput(
            order_id=authorization.order_id,
            correlation_id=authorization.correlation_id,
            causation_id=authorization.causation_id,
        )
        if target is AuthorizationStatus.AUTHORIZED:
            bus.publish([events.payment_authorized(flow, authorization)])
        else:
            bus.publish([events.payment_declined(flow, authorization.decline_reason or "")])
    if task_token is not None:
        complete_task(task_token, authorization, tasks)
    return ("recorded" if changed else "already-settled"), authorization


def complete_task(task_token: str, authorization: Authorization, tasks: TaskCompleter) -> bool:
    """Answer the saga's wait with the settled authorisation: its output (as AuthorizePayment's)
    when AUTHORIZED, the error ``PaymentDeclined`` otherwise (the saga's decline path)."""
    if authorization.status is AuthorizationStatus.AUTHORIZED:
        output = PaymentOutput(
            order_id=authorization.order_id,
            status=authorization.status,
            authorization_id=authorization.authorization_id,
            amount=authorization.amount,
        )
        return tasks.succeed(task_token, output.to_wire())
    reason = authorization.decline_reason or authorization.status.value
    declined = PaymentDeclined(reason)
    return tasks.fail(task_token, type(declined).__name__, json.dumps(declined.to_dict()))
