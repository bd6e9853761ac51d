"""AWS FIS offline, the faults applied inside a function's process, to its AWS SDK calls:
``orderflow:dynamodb:throttle`` and ``orderflow:events:put-events-partial-failure`` (actions of
our own, offline only; fis/model.py).

Runs in the runtime process (``bootstrap.py`` loads it), so standard library only. botocore is
the function's own: this module never imports it, it hooks into it.

How: the executor sends the faults of the running experiments that target the function with
each invocation request (``"fis"``: fis/faults.py ``sdk_fault``); ``begin`` arms them for that
invocation and ``end`` disarms them and returns what they injected, which the executor adds to
the experiment's counts. The faults act through botocore's own event hooks, registered in every
botocore session the process creates (they are added to ``botocore.handlers.BUILTIN_HANDLERS``
as soon as that module is imported: ``watch``), so whatever client the function builds, when
and however it builds it, has them:

- ``before-send.dynamodb``: a DynamoDB request the draw hits is answered, without being sent,
  by the response DynamoDB sends when it throttles (HTTP 400,
  ``ProvisionedThroughputExceededException``, its JSON body and CRC32 header). botocore parses
  it and its retry handler decides, as on AWS: every attempt is a request, drawn again.
- ``before-parameter-build.eventbridge.PutEvents``: the entries the draw hits are taken out of
  the request (they never reach the bus); ``after-call`` puts them back in the answer, in their
  places, failed the way PutEvents reports a partial failure (``ErrorCode`` ``InternalFailure``,
  an ``ErrorMessage``, ``FailedEntryCount`` counting them). If every entry is hit, nothing is
  sent (``before-call`` answers).

Outside an invocation that carries faults, every hook returns at its first test: nothing is
drawn, nothing changes, and a function no experiment targets never has a fault armed.
"""

from __future__ import annotations

import importlib.abc
import json
import random
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

DYNAMODB_THROTTLE = "dynamodb-throttle"
PUT_EVENTS_PARTIAL_FAILURE = "put-events-partial-failure"
THROTTLE_TYPE = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
THROTTLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
FAILED_ENTRY_CODE = "InternalFailure"
_CONTEXT_KEY = "orderflow_fis_failed_entries"


@dataclass
class Fault:
    """One armed fault of one invocation."""

    key: str  # "<experiment id>/<action name>"
    kind: str
    percentage: int
    operations: frozenset[str]  # DynamoDB operations it throttles (empty: all)
    rng: random.Random
    source: str  # "AWS FIS experiment ..., action ..."
    injected: int = 0
    seen: int = 0

    @classmethod
    def from_plan(cls, plan: dict[str, Any]) -> Fault:
        return cls(
            key=plan["key"],
            kind=plan["kind"],
            percentage=int(plan["percentage"]),
            operations=frozenset(plan.get("operations") or ()),
            rng=random.Random(plan["seed"]),
            source=plan["source"],
        )

    def hits(self) -> bool:
        return self.percentage >= 100 or self.rng.random() * 100 < self.percentage


class _Invocation:
    """The faults armed for the invocation running now (None: none, the usual case)."""

    armed: list[Fault] | None = None


_lock = threading.Lock()


def begin(plan: list[dict[str, Any]] | None) -> None:
    """Arm the faults of the invocation about to run (``None``: none)."""
    _Invocation.armed = [Fault.from_plan(fault) for fault in plan] if plan else None


def end() -> dict[str, list[int]] | None:
    """Disarm them; what each injected and saw, ``{key: [injected, seen]}`` (None: nothing)."""
    armed, _Invocation.armed = _Invocation.armed, None
    if not armed:
        return None
    with _lock:
        return {fault.key: [fault.injected, fault.seen] for fault in armed}


def _armed_of(kind: str) -> list[Fault]:
    armed = _Invocation.armed
    return [fault for fault in armed if fault.kind == kind] if armed else []


# --- DynamoDB throttling ----------------------------------------------------------------------


def throttle_response(request_id: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of DynamoDB's answer to a throttled request."""
    body = json.dumps({"__type": THROTTLE_TYPE, "message": THROTTLE_MESSAGE}).encode()
    headers = {
        "x-amzn-RequestId": request_id or uuid.uuid4().hex.upper(),
        "x-amz-crc32": str(zlib.crc32(body)),
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(body)),
        "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
    }
    return 400, headers, body


def throttles(operation: str) -> bool:
    """Whether an armed throttle hits this request (drawn per request, counted)."""
    faults = _armed_of(DYNAMODB_THROTTLE)
    if not faults:
        return False
    with _lock:
        for fault in faults:
            if fault.operations and operation not in fault.operations:
                continue
            fault.seen += 1
            if fault.hits():
                fault.injected += 1
                return True
    return False


class _Body:
    """The raw body of a made-up botocore ``AWSResponse`` (it reads ``raw.stream()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body


def _response(url: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    from botocore.awsrequest import AWSResponse  # the function's botocore, already imported

    fields: Any = headers  # botocore takes a plain dict (its stubs say HTTPHeaders)
    return AWSResponse(url, status, fields, _Body(body))


def _before_send_dynamodb(request: Any, event_name: str, **kwargs: Any) -> Any:
    if _Invocation.armed is None or not throttles(event_name.rsplit(".", 1)[-1]):
        return None
    return _response(request.url, *throttle_response())


# --- PutEvents partial failures ---------------------------------------------------------------


def failed_entries(count: int) -> tuple[list[int], str]:
    """Which of ``count`` PutEvents entries the armed faults fail (drawn per entry, counted),
    and the message the failed ones carry."""
    faults = _armed_of(PUT_EVENTS_PARTIAL_FAILURE)
    failed: set[int] = set()
    source = ""
    with _lock:
        for fault in faults:
            fault.seen += count
            for index in range(count):
                if index not in failed and fault.hits():
                    failed.add(index)
                    fault.injected += 1
                    source = source or fault.source
    return sorted(failed), f"Internal failure (injected by {source})" if failed else ""


def splice_failures(
    answered: Sequence[dict[str, Any]], failed: Sequence[int], count: int, message: str
) -> list[dict[str, Any]]:
    """The result entries of all ``count`` entries, in order: the failed ones (their indices)
    as PutEvents reports a failed entry, the others answered by the bus, in their order."""
    failed_set = set(failed)
    answers = iter(answered)
    return [
        {"ErrorCode": FAILED_ENTRY_CODE, "ErrorMessage": message}
        if index in failed_set
        else next(answers)
        for index in range(count)
    ]


def _before_parameter_build_put_events(
    params: dict[str, Any], context: dict[str, Any], **kwargs: Any
) -> None:
    entries = params.get("Entries")
    if _Invocation.armed is None or not isinstance(entries, list) or not entries:
        return
    failed, message = failed_entries(len(entries))
    if not failed:
        return
    context[_CONTEXT_KEY] = (failed, len(entries), message)
    dropped = set(failed)
    kept = [entry for index, entry in enumerate(entries) if index not in dropped]
    if kept:  # a new list: the caller's own is left as it was
        params["Entries"] = kept


def _before_call_put_events(context: dict[str, Any], **kwargs: Any) -> Any:
    """Every entry failed: nothing to send (an empty PutEvents would not validate)."""
    spliced = context.get(_CONTEXT_KEY)
    if spliced is None or spliced[0] != list(range(spliced[1])):
        return None
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.1"}
    parsed = {
        "FailedEntryCount": 0,
        "Entries": [],
        "ResponseMetadata": {
            "RequestId": request_id,
            "HTTPStatusCode": 200,
            "HTTPHeaders": {key.lower(): value for key, value in headers.items()},
            "RetryAttempts": 0,
        },
    }
    return _response("", 200, headers, b""), parsed


def _after_call_put_events(
    http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any
) -> None:
    spliced = context.pop(_CONTEXT_KEY, None)
    if spliced is None or http_response.status_code >= 300:
        return
    failed, count, message = spliced
    parsed["Entries"] = splice_failures(parsed.get("Entries") or [], failed, count, message)
    parsed["FailedEntryCount"] = int(parsed.get("FailedEntryCount") or 0) + len(failed)


# --- installation -----------------------------------------------------------------------------

HOOKS = (
    ("before-send.dynamodb", _before_send_dynamodb),
    ("before-parameter-build.eventbridge.PutEvents", _before_parameter_build_put_events),
    ("before-call.eventbridge.PutEvents", _before_call_put_events),
    ("after-call.eventbridge.PutEvents", _after_call_put_events),
)


def add_hooks(handlers: ModuleType) -> None:
    """Add the hooks to ``botocore.handlers.BUILTIN_HANDLERS`` (once): every botocore session
    registers those when it is created."""
    builtin: list[Any] = handlers.BUILTIN_HANDLERS
    if not any(spec[1] is HOOKS[0][1] for spec in builtin):
        builtin.extend(HOOKS)


class _Watch(importlib.abc.MetaPathFinder):
    """Adds the hooks right after ``botocore.handlers`` is imported (botocore.session imports
    it, so before any session exists); until then it costs a string comparison per import."""

    NAME = "botocore.handlers"

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.NAME:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                self._hook(spec.loader)
                return spec
        return None

    def _hook(self, loader: Any) -> None:
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            add_hooks(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)

        loader.exec_module = exec_module


def watch() -> None:
    """Have every botocore session of this process carry the hooks (see ``_Watch``)."""
    if "botocore.handlers" in sys.modules:
        add_hooks(sys.modules["botocore.handlers"])
    elif not any(isinstance(finder, _Watch) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Watch())
