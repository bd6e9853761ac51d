"""CloudEvents 1.0 envelope for orderflow domain events, and its EventBridge mapping.

The envelope is read, checked and written by the `cloudevents` SDK (2.2.0): the SDK's own
v1.0 event (`cloudevents.core.v1.event.CloudEvent`) validates every event (required
attributes, timezone-aware `time`, extension names) and its structured JSON format
(`cloudevents.core.formats.json.JSONFormat`) writes it (`to_json`, the EventBridge `Detail`)
and reads it (`CloudEvent.model_validate_json`). orderflow's `CloudEvent` is the pydantic model
Powertools Parser needs: it implements the SDK's event contract
(`cloudevents.core.base.BaseCloudEvent`, a Protocol), so the SDK's format takes it as it is, and
adds orderflow's rules: `subject` is an `OrderId` (an order's id; a SKU fits it too), ids
are `Token`s, `type` is `[Resource][PastVerb]`, `data` is a JSON object, `time` carries a
timezone and is written RFC 3339 UTC with milliseconds and `Z` (fixed width: the audit trail
sorts on it as text), and the `correlationid` / `causationid` extensions. Only the services'
`data` models are ours.

Why not the SDK's pydantic model. cloudevents 2.x has none in its supported API: its migration
guide lists the pydantic integration as removed ("use the core CloudEvent directly"). The one
left, `cloudevents.v1.pydantic.CloudEvent` (under pydantic 2 the class in
`cloudevents.v1.pydantic.v2`), belongs to the v1 compatibility layer (`cloudevents.v1`, version
1.12.1, security fixes only, "not under the v2 validation rules"), and it breaks the contract:

* its JSON (`model_dump_json`, which it routes through the v1 `to_json`) writes `time` as
  Python's `isoformat()` (`+00:00`, six or no fractional digits) and absent optional
  attributes as `null` (`"causationid": null`);
* its `model_validate_json` bypasses pydantic for the v1 HTTP converter, which lower-cases
  attribute names (`"CorrelationId"` is accepted as `correlationid`, while the dict path the
  Parser takes refuses it) and raises the SDK's `MissingRequiredFields`, not a
  `ValidationError` naming the field, for a missing `id`, `source`, `type` or `specversion`;
* its defaults invent an `id` (uuid4) and a `time` (now) for an event that has none, so an
  event redelivered without an id would get a new one each time, defeating idempotency;
* it replaces pydantic's `__eq__`, `__repr__` and `__iter__` (which yields attribute names:
  `dict(event)` fails) and adds `__setitem__` / `__delitem__`.

A subclass would override every field, the private hook its serializer reads
(`_get_attributes`) and its `model_validate_json`, keeping nothing but the name.

On EventBridge an event travels as `Source = event.source`, `DetailType = event.type` and
`Detail = the structured-mode CloudEvent JSON`, so rules can match on `source`/`detail-type`
and consumers get the whole envelope (including the extensions) in `detail`.
"""

import builtins
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, Self, cast

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkCloudEvent
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
from pydantic.config import ExtraValues
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared_kernel.errors import MalformedEventError
from shared_kernel.models import CamelModel, OrderId, StepInput, Token

SPEC_VERSION: Literal["1.0"] = "1.0"
MAX_EXTENSION_NAME = 20
"""CloudEvents: extension names SHOULD NOT exceed 20 characters (the SDK does not check it)."""
_CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject"}
)
_FORMAT = JSONFormat()
"""The SDK's structured-mode JSON format (`application/cloudevents+json`)."""


class _MillisecondTime(datetime):
    """A datetime whose `isoformat()` has millisecond precision. The SDK's JSON format writes
    `time` with `isoformat()` (and `Z` for `+00:00`): this is how orderflow's fixed-width
    `2025-01-15T10:30:00.000Z` gets on the wire through it."""

    def isoformat(self, sep: str = "T", timespec: str = "milliseconds") -> str:
        return super().isoformat(sep, timespec)

    @classmethod
    def of(cls, value: datetime) -> Self:
        value = value.astimezone(UTC)
        return cls.combine(value.date(), value.timetz())


class CloudEvent(BaseModel):
    """A structured-mode CloudEvent with orderflow's required extensions.

    `subject` is what the event is about: the order id for an order's events (the SKU for
    inventory's ProductPriced, which fits the same pattern); `correlationid` is shared by all
    events of one business flow, `causationid` is the id of the event that caused this one.
    Extra (unknown) extension attributes are kept but must have CloudEvents-legal names.
    Implements the SDK's `BaseCloudEvent` (`get_id()`, ..., `get_attributes()`, `get_data()`).
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

    @field_serializer("time", when_used="json")
    def _time_as_on_the_wire(self, value: datetime) -> str:
        """pydantic's own JSON (`model_dump_json`, a model holding an event) agrees with the
        SDK's on `time`."""
        return _MillisecondTime.of(value).isoformat().replace("+00:00", "Z")

    @model_validator(mode="after")
    def _valid_for_the_sdk(self) -> Self:
        """The SDK's v1.0 event accepts it (required attributes, timezone, extension names:
        lower-case letters and digits), and extension names are at most 20 characters."""
        try:
            SdkCloudEvent(self.get_attributes(), self.data)
        except CloudEventValidationError as exc:
            raise ValueError(_sdk_problems(exc)) from exc
        for name in self.model_extra or {}:
            if len(name) > MAX_EXTENSION_NAME:
                raise ValueError(f"illegal extension attribute name {name!r}: over 20 characters")
        return self

    # --- the SDK's event contract (cloudevents.core.base.BaseCloudEvent) ---------------------

    def get_id(self) -> str:
        return self.id

    def get_source(self) -> str:
        return self.source

    def get_type(self) -> str:
        return self.type

    def get_specversion(self) -> str:
        return self.specversion

    def get_datacontenttype(self) -> str:
        return self.datacontenttype

    def get_dataschema(self) -> str | None:
        return (self.model_extra or {}).get("dataschema")

    def get_subject(self) -> str:
        return self.subject

    def get_time(self) -> datetime:
        return self.time

    def get_extension(self, extension_name: str) -> Any:
        return self.get_attributes().get(extension_name)

    def get_data(self) -> dict[str, Any]:
        return self.data

    def get_attributes(self) -> dict[str, Any]:
        """Every context attribute but `data` (absent optionals omitted), `time` as the SDK
        writes it (milliseconds)."""
        attributes = self.model_dump(exclude={"data"}, exclude_none=True)
        attributes["time"] = _MillisecondTime.of(self.time)
        return attributes

    # --- structured-mode JSON, through the SDK's format ----------------------------------

    def to_json(self) -> str:
        """The structured-mode JSON the SDK's format writes (the EventBridge `Detail`)."""
        return _FORMAT.write(self).decode()

    def to_dict(self) -> dict[str, Any]:
        """The structured-mode JSON object (JSON-native values, absent optionals omitted)."""
        result: dict[str, Any] = json.loads(self.to_json())
        return result

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Read structured-mode JSON with the SDK's format, then validate it. Raises
        ValidationError naming the field, or with no field if the SDK cannot read it."""

        def build(
            attributes: dict[str, Any], data: dict[str, Any] | str | bytes | None
        ) -> "CloudEvent":
            payload = attributes if data is None else {**attributes, "data": data}
            return cls.model_validate(
                payload,
                strict=strict,
                extra=extra,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )

        text = bytes(json_data) if isinstance(json_data, bytearray) else json_data
        try:
            return cast(Self, _FORMAT.read(build, text))
        except ValidationError:
            raise
        except (ValueError, TypeError, AttributeError) as exc:  # JSON, `time`, `data_base64`
            problem = PydanticCustomError(
                "cloudevent_unreadable",
                "not a structured-mode CloudEvent: {problem}",
                {"problem": f"{exc.__class__.__name__}: {exc}"},
            )
            details = InitErrorDetails(type=problem, loc=(), input=json_data)
            raise ValidationError.from_exception_data(cls.__name__, [details]) from exc

    def data_as[M: BaseModel](self, model: builtins.type[M]) -> M:
        """Validate `data` against a service's schema; MalformedEventError names the field."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise malformed(exc, prefix="data") from exc


def _sdk_problems(exc: CloudEventValidationError) -> str:
    """The SDK's validation errors, each with its attribute (an extension's called illegal)."""
    problems = []
    for name, errors in exc.errors.items():
        label = "attribute" if name in _CONTEXT_ATTRIBUTES else "illegal extension attribute name"
        problems.append(f"{label} {name!r}: " + "; ".join(str(error) for error in errors))
    return ", ".join(problems)


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


_EVENT_ID_NAMESPACE = uuid.UUID("6f1d2c3b-8a4e-4b5f-9c7d-0e1f2a3b4c5d")


def derived_event_id(*parts: str) -> str:
    """An event id that the same `parts` always give: an event published again (a retried
    step, a re-run seed) has the id of the first, so consumers, idempotent by id, keep one."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, "/".join(parts)))


def step_event(step: StepInput, source: str, type: str, data: CamelModel) -> CloudEvent:
    """The event a saga step emits about `step`'s order, with an id derived from the flow, the
    order and the type: a retried step publishes the *same* event again, which every consumer
    (idempotent by event id) ignores, instead of a second event with a new id."""
    return new_event(
        type=type,
        source=source,
        subject=step.order_id,
        data=data.to_wire(),
        correlation_id=step.correlation_id,
        causation_id=step.causation_id,
        event_id=derived_event_id(step.correlation_id, step.order_id, type),
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


def to_put_events_entry(
    event: CloudEvent, bus_name: str, trace_header: str | None = None
) -> dict[str, Any]:
    """The EventBridge PutEvents entry carrying `event` (Detail is the CloudEvent JSON), in the
    X-Ray trace `trace_header` names (``TraceHeader``; rule targets continue that trace)."""
    entry = {
        "Source": event.source,
        "DetailType": event.type,
        "Detail": event.to_json(),
        "EventBusName": bus_name,
    }
    if trace_header is not None:
        entry["TraceHeader"] = trace_header
    return entry


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
