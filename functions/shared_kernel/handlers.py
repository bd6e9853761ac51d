"""The two shapes of an orderflow handler that is not an API route, each written once.

A saga step (a Step Functions ``LambdaInvoke`` task) is a function from its input model to its
output model; ``saga_step`` parses the input with Powertools Parser, puts the flow's ids on the
log lines, and returns the output as the state machine's JSON::

    @saga_step(ReserveInventoryInput, raises=(OutOfStock, InventoryBusy, PublishError))
    def handler(step: ReserveInventoryInput) -> ReservationOutput:
        return reserve(step, get_repository(), get_publisher())

A batch consumer (SQS queue or DynamoDB stream with ``ReportBatchItemFailures``) is a function
from one parsed record to a short outcome; ``batch_consumer`` runs it over the batch with
Powertools' ``BatchProcessor`` and reports the failed records, logging why each one failed::

    @batch_consumer(EventBridgeRecord)
    def handler(record: EventBridgeRecord) -> str:
        return project(record.body.detail, get_repository())

Both wrap the handler in the service's logger, tracer and metrics (built once, in
``shared_kernel.observability``). A step declares the errors it raises to the state machine
(``raises``); the infra tests check that the saga retries or catches each of them, and names no
error that no step raises.
"""

import functools
from collections.abc import Callable
from typing import Any, Protocol, cast

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared_kernel.cloudevents import malformed
from shared_kernel.errors import MalformedEventError
from shared_kernel.models import CamelModel, StepInput
from shared_kernel.observability import bind_correlation, logger, metrics, tracer, unbind_record
from shared_kernel.tracing import span_in


class LambdaHandler(Protocol):
    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]: ...


class StepHandler(LambdaHandler, Protocol):
    raises: tuple[type[Exception], ...]
    """The domain errors the step lets through to the state machine (its contract)."""


def saga_step[I: BaseModel](
    model: type[I], *, raises: tuple[type[Exception], ...] = ()
) -> Callable[[Callable[[I], CamelModel]], StepHandler]:
    """Make ``step(input) -> output`` a Lambda handler for a saga state; see the module doc."""

    def decorate(step: Callable[[I], CamelModel]) -> StepHandler:
        @metrics.log_metrics
        @tracer.capture_lambda_handler
        @logger.inject_lambda_context(clear_state=True)
        @functools.wraps(step)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            try:
                request = parse(event=event, model=model)
            except ValidationError as exc:  # the input is not what the state machine sends
                raise malformed(exc) from exc
            if isinstance(request, StepInput):
                bind_correlation(request.correlation_id, request.order_id)
            return step(request).to_wire()

        step_handler = cast(StepHandler, handler)
        step_handler.raises = raises
        return step_handler

    return decorate


class _LoggingBatchProcessor(BatchProcessor):
    """Powertools' processor, saying at error level why each failed record failed (the
    processor keeps it to itself); the record comes back, then reaches the DLQ."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        error = exception[1]
        if isinstance(error, MalformedEventError):
            logger.error(
                "malformed record: it fails (received again, then the DLQ)",
                extra={"field": error.field, "problem": error.problem},
            )
        elif isinstance(error, ValidationError):  # the record did not parse
            first = error.errors()[0]
            logger.error(
                "malformed record: it fails (received again, then the DLQ)",
                extra={
                    "field": ".".join(str(part) for part in first["loc"]),
                    "problem": first["msg"],
                },
            )
        else:
            logger.error("record failed: it will be received again", exc_info=exception)
        return super().failure_handler(record, exception)


def _record_id(record: Any) -> str | None:
    """An SQS record's message id or a stream record's event id."""
    return getattr(record, "message_id", None) or getattr(record, "event_id", None)


def _trace_header(record: Any) -> str | None:
    """The trace an SQS record belongs to (``attributes.AWSTraceHeader``, set by whoever sent
    it: EventBridge, SNS, Step Functions, the SDK); a stream record carries none."""
    attributes = record.raw_event.get("attributes")
    return attributes.get("AWSTraceHeader") if isinstance(attributes, dict) else None


def batch_consumer[R: BaseModel](model: type[R]) -> Callable[[Callable[[R], str]], LambdaHandler]:
    """Make ``consume(record) -> outcome`` a partial-batch handler; see the module doc.

    ``model`` is a Powertools Parser record model (``SqsRecordModel`` or
    ``DynamoDBStreamRecordModel`` and their subclasses); a record that does not parse fails
    alone, logged with the field at fault (``body.detail.subject``). A batch whose records all
    failed is reported like a partial one.

    Each SQS record is consumed inside a span of its own trace (``shared_kernel.tracing``):
    records of one batch belong to different orders, and what ``consume`` calls or publishes
    belongs to the record's order.
    """
    streamed = issubclass(model, DynamoDBStreamRecordModel)
    event_type = EventType.DynamoDBStreams if streamed else EventType.SQS
    # Records are parsed in ``record_handler``, not by the processor, so that a record that
    # does not parse goes through ``failure_handler`` (and is logged) like any other failure.
    processor = _LoggingBatchProcessor(event_type=event_type, raise_on_entire_batch_failure=False)

    def decorate(consume: Callable[[R], str]) -> LambdaHandler:
        @tracer.capture_method
        def record_handler(record: Any) -> str:
            unbind_record()
            logger.append_keys(message_id=_record_id(record))
            with span_in(_trace_header(record)):
                return consume(model.model_validate(record.raw_event))

        @metrics.log_metrics
        @tracer.capture_lambda_handler
        @logger.inject_lambda_context(clear_state=True)
        @functools.wraps(consume)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return dict(
                process_partial_response(
                    event=event,
                    record_handler=record_handler,
                    processor=processor,
                    context=context,
                )
            )

        return cast(LambdaHandler, handler)

    return decorate
