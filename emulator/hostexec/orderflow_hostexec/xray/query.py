"""Trace summaries (``GetTraceSummaries``) and the subset of X-Ray's filter expressions the
emulator evaluates. Standard library only.

Supported, joined by ``AND`` (any case)::

    annotation.<key> = "<value>"     also annotation[<key>], !=, and numbers or true/false
                                     (<, <=, >, >= compare numbers)
    service("<name>")                a segment of the trace is named <name>
    error | fault | throttle | ok     the trace's flags (ok: none of the three)
    responsetime > 1.5               the root segment's time, seconds (also <, <=, >=, =)
    duration > 1.5                   the whole trace's time, seconds
    http.status = 500                the root segment's HTTP status (also http.method)

Anything else (``OR``, parentheses, ``service(id(...))``, ``edge``, ``rootcause``, ...) is an
``UnsupportedFilter`` error naming what is not supported: the API answers it with
``InvalidRequestException`` instead of silently matching everything.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orderflow_hostexec.xray.store import Entity, Trace

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class UnsupportedFilter(ValueError):
    """A filter expression the emulator does not evaluate (or not a valid one)."""


def _flags(entity: Entity) -> tuple[bool, bool, bool]:
    doc = entity.document
    return bool(doc.get("fault")), bool(doc.get("error")), bool(doc.get("throttle"))


def _service_id(entity: Entity) -> dict[str, Any]:
    doc = entity.document
    found: dict[str, Any] = {"Name": doc["name"], "Names": [doc["name"]]}
    if origin := doc.get("origin"):
        found["Type"] = origin
    if account := (doc.get("aws") or {}).get("account_id"):
        found["AccountId"] = str(account)
    return found


def _annotation_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, int | float):
        return {"NumberValue": float(value)}
    return {"StringValue": str(value)}


@dataclass
class Summary:
    """What the filters and ``TraceSummary`` need of a trace, computed once per read."""

    trace: Trace
    fault: bool
    error: bool
    throttle: bool
    response_time: float
    duration: float
    services: list[dict[str, Any]]
    annotations: dict[str, list[Any]]  # key -> values, as recorded
    http: dict[str, Any]
    root: Entity | None

    @classmethod
    def of(cls, trace: Trace) -> Summary:
        segments = trace.segments()
        flags = [_flags(segment) for segment in segments]
        root = trace.root()
        services: list[dict[str, Any]] = []
        for segment in segments:
            service = _service_id(segment)
            if service not in services:
                services.append(service)
        annotations: dict[str, list[Any]] = {}
        for entity in trace.entities.values():
            for key, value in (entity.document.get("annotations") or {}).items():
                annotations.setdefault(key, []).append(value)
        http: dict[str, Any] = {}
        if root is not None:
            request = (root.document.get("http") or {}).get("request") or {}
            response = (root.document.get("http") or {}).get("response") or {}
            for key, name in (("url", "HttpURL"), ("method", "HttpMethod")):
                if request.get(key):
                    http[name] = request[key]
            if request.get("user_agent"):
                http["UserAgent"] = request["user_agent"]
            if request.get("client_ip"):
                http["ClientIp"] = request["client_ip"]
            if isinstance(response.get("status"), int):
                http["HttpStatus"] = response["status"]
        return cls(
            trace=trace,
            fault=any(f[0] for f in flags),
            error=any(f[1] for f in flags),
            throttle=any(f[2] for f in flags),
            response_time=(root.end - root.start) if root else 0.0,
            duration=trace.end - trace.start,
            services=services,
            annotations=annotations,
            http=http,
            root=root,
        )

    def to_api(self) -> dict[str, Any]:
        """The ``TraceSummary`` shape."""
        summary: dict[str, Any] = {
            "Id": self.trace.id,
            "StartTime": self.trace.start,
            "Duration": round(self.duration, 3),
            "ResponseTime": round(self.response_time, 3),
            "HasFault": self.fault,
            "HasError": self.error,
            "HasThrottle": self.throttle,
            "IsPartial": any(e.document.get("in_progress") for e in self.trace.entities.values()),
            "Http": self.http,
            "Annotations": {
                key: [
                    {"AnnotationValue": _annotation_value(value), "ServiceIds": []}
                    for value in dict.fromkeys(
                        v if not isinstance(v, list | dict) else str(v) for v in values
                    )
                ]
                for key, values in self.annotations.items()
            },
            "Users": [],
            "ServiceIds": self.services,
            "Revision": len(self.trace.entities),
        }
        if self.root is not None:
            summary["EntryPoint"] = _service_id(self.root)
        return summary


Predicate = Callable[[Summary], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<punct>[()\[\],])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.\-:]*)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    found = []
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup or "other"
        found.append((kind, match[kind]))
    return found


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return float(text)
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise UnsupportedFilter(
        f"expected a value (a quoted string, a number, true or false), got {text!r}"
    )


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        if op not in ("=", "!="):
            return False
        return _COMPARE[op](left, right)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return _COMPARE[op](float(left), float(right))
    if op not in ("=", "!="):
        return False
    return _COMPARE[op](str(left), str(right))


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str | None = None, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if (kind and token[0] != kind) or (text and token[1] != text):
            want = text or kind
            raise UnsupportedFilter(f"expected {want!r} but found {token[1] or 'the end'!r}")
        self.at += 1
        return token

    def parse(self) -> list[Predicate]:
        predicates = [self.predicate()]
        while self.peek() != ("end", ""):
            kind, text = self.take()
            if kind != "word" or text.upper() != "AND":
                raise UnsupportedFilter(
                    f"{text!r}: only predicates joined by AND are supported by the emulator"
                )
            predicates.append(self.predicate())
        return predicates

    def _comparison(self) -> tuple[str, Any]:
        op = self.take("op")[1]
        kind, text = self.take()
        return op, _literal(kind, text)

    def predicate(self) -> Predicate:
        kind, text = self.take()
        word = text.lower()
        if kind == "end":
            raise UnsupportedFilter("expected a predicate but found the end")
        if kind != "word":
            raise UnsupportedFilter(f"{text!r} is not supported by the emulator's filter subset")
        if word in ("error", "fault", "throttle", "ok"):
            if self.peek()[0] == "op":
                raise UnsupportedFilter(f"write {word} alone (e.g. `{word}`), not compared")
            if word == "ok":
                return lambda s: not (s.error or s.fault or s.throttle)
            return lambda s: bool(getattr(s, word))
        if word in ("responsetime", "duration"):
            op, value = self._comparison()
            if not isinstance(value, float):
                raise UnsupportedFilter(f"{word} compares with a number of seconds")
            field = "response_time" if word == "responsetime" else "duration"
            return lambda s: _COMPARE[op](getattr(s, field), value)
        if word in ("http.status", "http.method"):
            op, value = self._comparison()
            key = "HttpStatus" if word == "http.status" else "HttpMethod"
            return lambda s: key in s.http and _compare(op, s.http[key], value)
        if word == "service":
            self.take("punct", "(")
            name_kind, name = self.take()
            if name_kind != "string":
                raise UnsupportedFilter('service() takes a quoted name: service("<name>")')
            self.take("punct", ")")
            wanted = _literal("string", name)
            return lambda s: any(service["Name"] == wanted for service in s.services)
        if word.startswith("annotation.") or word == "annotation":
            key = text[len("annotation.") :] if word != "annotation" else self._bracketed()
            if not key:
                raise UnsupportedFilter("annotation.<key> needs a key")
            op, value = self._comparison()
            return lambda s: any(_compare(op, v, value) for v in s.annotations.get(key, []))
        raise UnsupportedFilter(
            f'{text!r} is not in the emulator\'s filter subset (annotation.<key>, service("name"),'
            " error, fault, throttle, ok, responsetime, duration, http.status, http.method)"
        )

    def _bracketed(self) -> str:
        self.take("punct", "[")
        kind, text = self.take()
        self.take("punct", "]")
        return _literal("string", text) if kind == "string" else text


def parse_filter(expression: str | None) -> Predicate:
    """A predicate over a trace's ``Summary``; raises ``UnsupportedFilter``."""
    if not expression or not expression.strip():
        return lambda s: True
    predicates = _Parser(expression).parse()
    return lambda s: all(predicate(s) for predicate in predicates)
