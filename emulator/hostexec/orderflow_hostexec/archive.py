"""EventBridge archives and replays, as on AWS (behaviour fixes for ``orderflow replay``).

LocalStack 2026.3 has the archive and replay APIs, but:

- ``events.archive-resource``: its CloudFormation has no ``AWS::Events::Archive`` provider, so
  the archive the stack declares was not created (an unsupported type deploys as a no-op).
  This adds one: create, update and delete through the events API, ``Ref`` the archive name,
  ``Fn::GetAtt Arn``.
- ``events.replay-window``: ``StartReplay`` failed with a 500 (``replace() takes at least 2
  positional arguments``) as soon as the archive held an event: the archive keeps each
  event's ``time`` as a string, and both selected them and put them again as if it were a
  datetime. Events are selected by their time, parsed, between the replay's start and end
  (exactly, as on AWS: LocalStack rounded the window to the minute), and put again with that
  time.
- ``events.replay-filter-arns``: a replay sent its events to every rule of the bus,
  ``Destination.FilterArns`` ignored; on AWS only the listed rules receive them. Without
  this, replaying the archive for the read model would also start sagas and notify customers
  again on the emulator.

Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from orderflow_hostexec import cloudformation_resources
from orderflow_hostexec.patches import Patch, Target

ARCHIVE_TYPE = "AWS::Events::Archive"
_ARCHIVE = "localstack.services.events.archive"
_PROVIDER = "localstack.services.events.provider"

ARCHIVE_SCHEMA: dict[str, Any] = {
    "typeName": ARCHIVE_TYPE,
    "properties": {
        "ArchiveName": {"type": "string"},
        "SourceArn": {"type": "string"},
        "Description": {"type": "string"},
        "EventPattern": {"type": "object"},
        "RetentionDays": {"type": "integer"},
        "Arn": {"type": "string"},
    },
    "required": ["SourceArn"],
    "createOnlyProperties": ["/properties/ArchiveName", "/properties/SourceArn"],
    "readOnlyProperties": ["/properties/Arn"],
    "primaryIdentifier": ["/properties/ArchiveName"],
}


def _archive_request(model: dict[str, Any]) -> dict[str, Any]:
    """The events API's arguments for the resource's properties."""
    request: dict[str, Any] = {}
    if (pattern := model.get("EventPattern")) is not None:
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if model.get("Description") is not None:
        request["Description"] = model["Description"]
    if model.get("RetentionDays") is not None:
        request["RetentionDays"] = int(model["RetentionDays"])
    return request


def _archive_provider_class() -> type:
    from localstack.services.cloudformation.resource_provider import (
        OperationStatus,
        ProgressEvent,
        ResourceProvider,
    )
    from localstack.utils.strings import short_uid

    class ArchiveProvider(ResourceProvider):
        TYPE = ARCHIVE_TYPE
        SCHEMA = ARCHIVE_SCHEMA

        def create(self, request: Any) -> Any:
            model = request.desired_state
            client = request.aws_client_factory.events
            model.setdefault("ArchiveName", f"{request.logical_resource_id[:32]}-{short_uid()}")
            created = client.create_archive(
                ArchiveName=model["ArchiveName"],
                EventSourceArn=model["SourceArn"],
                **_archive_request(model),
            )
            model["Arn"] = created["ArchiveArn"]
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def read(self, request: Any) -> Any:
            raise NotImplementedError

        def update(self, request: Any) -> Any:
            model = request.desired_state
            model["ArchiveName"] = request.previous_state["ArchiveName"]
            model["Arn"] = request.previous_state["Arn"]
            client = request.aws_client_factory.events
            client.update_archive(ArchiveName=model["ArchiveName"], **_archive_request(model))
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def delete(self, request: Any) -> Any:
            model = request.previous_state
            client = request.aws_client_factory.events
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                client.delete_archive(ArchiveName=model["ArchiveName"])
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})

    return ArchiveProvider


def provide_archive_resource() -> None:
    cloudformation_resources.serve(ARCHIVE_TYPE, _archive_provider_class())


def event_time(value: Any) -> datetime:
    """An archived event's ``time`` (``2026-12-01T02:17:47Z``, or a datetime) as UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_window(time: Any, start: datetime, end: datetime) -> bool:
    """Whether an event of ``time`` falls in [start, end], as on AWS ("only events that
    occurred between EventStartTime and EventEndTime"). LocalStack rounded all three down to
    the minute, replaying up to a minute of other events on either side."""
    return event_time(start) <= event_time(time) <= event_time(end)


def select_replay_window() -> None:
    from localstack.services.events.archive import ArchiveService

    def _filter_events_start_end_time(self: Any, start: Any, end: Any) -> list[Any]:
        return [
            event for event in self.archive.events.values() if in_window(event["time"], start, end)
        ]

    ArchiveService._filter_events_start_end_time = _filter_events_start_end_time

    from localstack.services.events.replay import ReplayService

    re_format = ReplayService.re_format_events_from_archive

    def re_format_events_from_archive(self: Any, events: Any, replay_name: str) -> Any:
        # put again with the event's own time, as a datetime (PutEvents' ``Time``)
        entries = re_format(self, events, replay_name)
        return [{**entry, "Time": event_time(entry["Time"])} for entry in entries]

    ReplayService.re_format_events_from_archive = re_format_events_from_archive


def rule_receives_replayed(rule_arn: str, destination: dict[str, Any] | None) -> bool:
    """Whether a rule is sent a replayed event: every rule of the bus unless the replay's
    destination lists ``FilterArns``, then those rules only."""
    filter_arns = (destination or {}).get("FilterArns") or []
    return not filter_arns or rule_arn in filter_arns


def honour_replay_filter_arns() -> None:
    from localstack.services.events.provider import EventsProvider

    original = EventsProvider._process_rules

    def _process_rules(  # noqa: PLR0917 (LocalStack's signature)
        self: Any,
        rule: Any,
        region: str,
        account_id: str,
        event_formatted: dict[str, Any],
        trace_header: Any,
    ) -> None:
        if replay_name := event_formatted.get("replay-name"):
            replay = self.get_store(region, account_id).replays.get(replay_name)
            destination = replay.destination if replay is not None else None
            if not rule_receives_replayed(rule.arn, destination):
                return
        original(self, rule, region, account_id, event_formatted, trace_header)

    EventsProvider._process_rules = _process_rules


PROCESS_RULES = Target(
    _PROVIDER,
    "EventsProvider._process_rules",
    parameters=("self", "rule", "region", "account_id", "event_formatted", "trace_header"),
)
"""LocalStack's matching of one rule against one event (wrapped here and in disabled_rules)."""

PATCHES = (
    Patch(
        name="events.archive-resource",
        kind="behaviour",
        purpose="CloudFormation creates, updates and deletes AWS::Events::Archive",
        targets=(*cloudformation_resources.TARGETS,),
        apply=provide_archive_resource,
    ),
    Patch(
        name="events.replay-window",
        kind="behaviour",
        purpose="StartReplay selects archived events by their time instead of failing (500)",
        targets=(
            Target(_ARCHIVE, "ArchiveService", shape="class"),
            Target(
                _ARCHIVE,
                "ArchiveService._filter_events_start_end_time",
                parameters=("self", "event_start_time", "event_end_time"),
            ),
            Target(
                "localstack.services.events.replay",
                "ReplayService.re_format_events_from_archive",
                parameters=("self", "events", "replay_name"),
            ),
        ),
        apply=select_replay_window,
    ),
    Patch(
        name="events.replay-filter-arns",
        kind="behaviour",
        purpose="replayed events reach only the rules in Destination.FilterArns, as on AWS",
        targets=(
            Target(_PROVIDER, "EventsProvider", shape="class"),
            PROCESS_RULES,
        ),
        apply=honour_replay_filter_arns,
    ),
)
