"""CloudEvents 1.0 envelope for orderflow domain events, and its EventBridge mapping.

The pydantic `CloudEvent` model is the source of truth. On EventBridge an event travels as
`Source = event.source`, `DetailType = event.type` and `Detail = the structured-mode CloudEvent
JSON`, so rules can match on `source`/`detail-type` and consumers get the whole envelope
(including the `correlationid`/`causationid` extensions) in `detail`.
"""

import builtins
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Json,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from shared_kernel.errors import MalformedEventError
from shared_kernel.models import CamelModel, OrderId, StepInput, Token

SPEC_VERSION: Literal["1.0"] = "1.0"
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "datacontenttype", "subject", "data"}
)


class CloudEvent(BaseModel):
    """A structured-mode CloudEvent with orderflow's required extensions.

    `subject` is the order id every orderflow event is about; `correlationid` is shared by all
    events of one business flow, `causationid` is the id of the event that caused this one.
    Extra (unknown) extension attributes are kept but must have CloudEvents-legal names.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = SPEC_VERSION
    id: Token
    source: Token
    type: str = Field(pattern=r"^[A-Z][A-Za-z0-9]{1,63}$")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: OrderId
    correlationid: Token
    causationid: Token | None = None
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _time_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone (RFC 3339)")
        return value.astimezone(UTC)

    @field_serializer("time")
    def _time_rfc3339(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @model_validator(mode="after")
    def _extension_names(self) -> "CloudEvent":
        for name in self.model_extra or {}:
            if name in _CONTEXT_ATTRIBUTES or not _EXTENSION_NAME.match(name):
                raise ValueError(f"illegal extension attribute name {name!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The structured-mode JSON object (JSON-native values, absent optionals omitted)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def data_as[M: BaseModel](self, model: builtins.type[M]) -> M:
        """Validate `data` against a service's schema; MalformedEventError names the field."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise malformed(exc, prefix="data") from exc


def new_event(
    type: str,
    source: str,
    subject: str,
    data: dict[str, Any],
    correlation_id: str,
    *,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """A new event stamped now (UTC, millisecond precision: what the JSON form carries, so an
    event survives a round trip unchanged), with `event_id` or a fresh uuid4 id."""
    now = datetime.now(UTC)
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=now.replace(microsecond=now.microsecond // 1000 * 1000),
        subject=subject,
        correlationid=correlation_id,
        causationid=causation_id,
        data=data,
    )


_STEP_EVENT_NAMESPACE = uuid.UUID("6f1d2c3b-8a4e-4b5f-9c7d-0e1f2a3b4c5d")


def step_event(step: StepInput, source: str, type: str, data: CamelModel) -> CloudEvent:
    """The event a saga step emits about `step`'s order, with an id derived from the flow, the
    order and the type: a retried step publishes the *same* event again, which every consumer
    (idempotent by event id) ignores, instead of a second event with a new id."""
    key = f"{step.correlation_id}/{step.order_id}/{type}"
    return new_event(
        type=type,
        source=source,
        subject=step.order_id,
        data=data.to_wire(),
        correlation_id=step.correlation_id,
        causation_id=step.causation_id,
        event_id=str(uuid.uuid5(_STEP_EVENT_NAMESPACE, key)),
    )


def caused_by(parent: CloudEvent, type: str, source: str, data: dict[str, Any]) -> CloudEvent:
    """An event caused by `parent`: same subject and correlation id, causation = parent's id."""
    return new_event(
        type=type,
        source=source,
        subject=parent.subject,
        data=data,
        correlation_id=parent.correlationid,
        causation_id=parent.id,
    )


def to_put_events_entry(event: CloudEvent, bus_name: str) -> dict[str, Any]:
    """The EventBridge PutEvents entry carrying `event` (Detail is the CloudEvent JSON)."""
    return {
        "Source": event.source,
        "DetailType": event.type,
        "Detail": event.to_json(),
        "EventBusName": bus_name,
    }


def parse_cloud_event(payload: Any) -> CloudEvent:
    """Validate a structured-mode CloudEvent (dict); MalformedEventError names the field."""
    if not isinstance(payload, dict):
        raise MalformedEventError("detail", "expected a CloudEvent JSON object")
    try:
        return CloudEvent.model_validate(payload)
    except ValidationError as exc:
        raise malformed(exc, prefix="detail") from exc


def from_eventbridge(event: Any) -> CloudEvent:
    """The CloudEvent inside an EventBridge event as delivered to a target.

    Raises MalformedEventError when the envelope or the CloudEvent is invalid, or when the
    envelope's `source`/`detail-type` disagree with the CloudEvent's `source`/`type`.
    """
    try:
        return BusEvent.model_validate(event).detail
    except ValidationError as exc:
        raise malformed(exc) from exc


class BusEvent(EventBridgeModel):
    """An EventBridge event as the bus delivers it to a target, carrying a CloudEvent as its
    `detail`; `source` and `detail-type` must be the CloudEvent's own."""

    detail: CloudEvent

    @field_validator("detail")
    @classmethod
    def _envelope_matches(cls, detail: CloudEvent, info: ValidationInfo) -> CloudEvent:
        if info.data.get("detail_type") != detail.type:
            raise ValueError(f"detail-type {info.data.get('detail_type')!r} is not its type")
        if info.data.get("source") != detail.source:
            raise ValueError(f"source {info.data.get('source')!r} is not its source")
        return detail


class BusEventRecord(SqsRecordModel):
    """An SQS message whose body is a BusEvent (a queue that is an EventBridge rule's target,
    or subscribed with raw delivery to a topic that is)."""

    body: Json[BusEvent]


def malformed(exc: ValidationError, prefix: str | None = None) -> MalformedEventError:
    """The first problem of `exc`, as a MalformedEventError naming its field."""
    error = exc.errors()[0]
    parts = (prefix, *error["loc"]) if prefix else error["loc"]
    location = ".".join(str(part) for part in parts) or "event"
    return MalformedEventError(location, error["msg"])
