"""X-Ray sampling rules and the decision AWS makes where a trace starts.

A request is matched against the rules by ascending ``Priority`` (then name); the first rule
whose every field matches (``*`` and ``?`` wildcards, case-insensitive; a field the request
has no value for matches only ``*``) decides: the first ``ReservoirSize`` requests of each
second are sampled, then a ``FixedRate`` fraction of the rest. The ``Default`` rule (priority
10000, reservoir 1/s, 5%) matches everything and cannot be deleted; it can be updated.

Where the decision is made (the kit's hooks, ``hooks.py``): an API Gateway stage with tracing
on, or a Lambda function with active tracing invoked without a decided header. It travels in
the header (``Sampled=1``/``0``) and nothing downstream decides again.

The clock and the random source are injected, so the decisions are testable exactly.
Standard library only.
"""

from __future__ import annotations

import random as random_module
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

DEFAULT_RULE_NAME = "Default"
DEFAULT_PRIORITY = 10_000
MAX_RULES = 25  # AWS: 25 sampling rules per account and region (Default included)
MATCH_FIELDS = ("ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN")
TARGET_INTERVAL_S = 10  # how often the SDKs report statistics and ask for targets


class SamplingError(ValueError):
    """A request the sampling API refuses (InvalidRequestException)."""


class RuleLimitExceeded(SamplingError):
    """RuleLimitExceededException."""


@dataclass(frozen=True)
class SampledRequest:
    """What a decision looks at: the service that starts the trace and its request."""

    service_name: str = ""
    service_type: str = ""
    host: str = ""
    http_method: str = ""
    url_path: str = ""
    resource_arn: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return {
            "ServiceName": self.service_name,
            "ServiceType": self.service_type,
            "Host": self.host,
            "HTTPMethod": self.http_method,
            "URLPath": self.url_path,
            "ResourceARN": self.resource_arn,
        }[name]


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)


def wildcard_match(glob: str, value: str) -> bool:
    if glob == "*":
        return True
    if not value:
        return False
    return bool(_pattern(glob).match(value))


def _now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Rule:
    """A sampling rule, with the ``SamplingRule`` API's field names."""

    fields: dict[str, Any]
    created_at: datetime = field(default_factory=_now_utc)
    modified_at: datetime = field(default_factory=_now_utc)

    @property
    def name(self) -> str:
        return str(self.fields["RuleName"])

    @property
    def priority(self) -> int:
        return int(self.fields["Priority"])

    def matches(self, request: SampledRequest) -> bool:
        for name in MATCH_FIELDS:
            if not wildcard_match(str(self.fields.get(name, "*")), request.value(name)):
                return False
        for key, glob in (self.fields.get("Attributes") or {}).items():
            if not wildcard_match(str(glob), request.attributes.get(key, "")):
                return False
        return True

    def record(self) -> dict[str, Any]:
        return {
            "SamplingRule": dict(self.fields),
            "CreatedAt": self.created_at,
            "ModifiedAt": self.modified_at,
        }


def _check(fields: Mapping[str, Any]) -> None:
    name = fields.get("RuleName")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
        raise SamplingError("RuleName must be 1 to 32 letters, digits, '-' or '_'")
    rate = fields.get("FixedRate")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise SamplingError(f"FixedRate must be between 0 and 1, not {rate!r}")
    reservoir = fields.get("ReservoirSize")
    if isinstance(reservoir, bool) or not isinstance(reservoir, int) or reservoir < 0:
        raise SamplingError(f"ReservoirSize must be a non-negative integer, not {reservoir!r}")
    priority = fields.get("Priority")
    if name != DEFAULT_RULE_NAME and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 9999
    ):
        raise SamplingError(f"Priority must be between 1 and 9999, not {priority!r}")
    for key in MATCH_FIELDS:
        if not isinstance(fields.get(key), str) or not fields[key]:
            raise SamplingError(f"{key} is required (use * to match anything)")
    if fields.get("Version", 1) != 1:
        raise SamplingError("Version must be 1")


class Sampler:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random_module.random,
        account_id: str = "000000000000",
        region: str = "us-east-1",
    ) -> None:
        self._clock = clock
        self._random = random
        self._account = account_id
        self._region = region
        self._lock = threading.Lock()
        self._rules: dict[str, Rule] = {}
        self._used: dict[str, tuple[int, int]] = {}  # rule -> (second, sampled from reservoir)
        self._rules[DEFAULT_RULE_NAME] = Rule(self._complete(self._default_fields()))
        self.last_modification = _now_utc()

    def _arn(self, name: str) -> str:
        return f"arn:aws:xray:{self._region}:{self._account}:sampling-rule/{name}"

    def _default_fields(self) -> dict[str, Any]:
        return {
            "RuleName": DEFAULT_RULE_NAME,
            "Priority": DEFAULT_PRIORITY,
            "FixedRate": 0.05,
            "ReservoirSize": 1,
            **dict.fromkeys(MATCH_FIELDS, "*"),
            "Version": 1,
            "Attributes": {},
        }

    def _complete(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        complete = {"Attributes": {}, "Version": 1, **fields}
        complete["RuleARN"] = self._arn(complete["RuleName"])
        return complete

    # --- the decision ---------------------------------------------------------------------------

    def rule_for(self, request: SampledRequest) -> Rule:
        with self._lock:
            rules = sorted(self._rules.values(), key=lambda r: (r.priority, r.name))
        return next(rule for rule in rules if rule.matches(request) or rule.name == "Default")

    def decide(self, request: SampledRequest) -> bool:
        """Sample this request? Reservoir first (per second), then the fixed rate."""
        rule = self.rule_for(request)
        second = int(self._clock())
        with self._lock:
            current, used = self._used.get(rule.name, (second, 0))
            if current != second:
                used = 0
            if used < int(rule.fields["ReservoirSize"]):
                self._used[rule.name] = (second, used + 1)
                return True
            self._used[rule.name] = (second, used)
        return self._random() < float(rule.fields["FixedRate"])

    # --- the API --------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            rules = sorted(self._rules.values(), key=lambda r: (r.priority, r.name))
        return [rule.record() for rule in rules]

    def _find(self, name: str | None, arn: str | None) -> Rule:
        wanted = name or (arn or "").rsplit("/", 1)[-1]
        rule = self._rules.get(wanted)
        if rule is None or (arn and rule.fields["RuleARN"] != arn):
            raise SamplingError(f"Sampling rule {name or arn!r} does not exist")
        return rule

    def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        _check(fields)
        with self._lock:
            if fields["RuleName"] in self._rules:
                raise SamplingError(f"Sampling rule {fields['RuleName']!r} already exists")
            if len(self._rules) >= MAX_RULES:
                raise RuleLimitExceeded(f"An account can have at most {MAX_RULES} sampling rules")
            rule = Rule(self._complete(fields))
            self._rules[rule.name] = rule
            self.last_modification = rule.modified_at
            return rule.record()

    def update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            rule = self._find(update.get("RuleName"), update.get("RuleARN"))
            fields = dict(rule.fields)
            fields.update(
                {
                    k: v
                    for k, v in update.items()
                    if k not in ("RuleName", "RuleARN") and v is not None
                }
            )
            _check(fields)
            rule.fields = fields
            rule.modified_at = _now_utc()
            self.last_modification = rule.modified_at
            return rule.record()

    def delete(self, name: str | None, arn: str | None) -> dict[str, Any]:
        with self._lock:
            rule = self._find(name, arn)
            if rule.name == DEFAULT_RULE_NAME:
                raise SamplingError("The Default sampling rule cannot be deleted")
            del self._rules[rule.name]
            self._used.pop(rule.name, None)
            self.last_modification = _now_utc()
            return rule.record()

    def targets(
        self, statistics: Iterable[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``GetSamplingTargets``: each reported rule's rate and a reservoir quota for the next
        interval (the whole reservoir: the emulator has one client per rule that matters)."""
        targets: list[dict[str, Any]] = []
        unprocessed: list[dict[str, Any]] = []
        now = self._clock()
        with self._lock:
            for document in statistics:
                rule = self._rules.get(str(document.get("RuleName")))
                if rule is None:
                    unprocessed.append(
                        {
                            "RuleName": document.get("RuleName"),
                            "ErrorCode": "400",
                            "Message": "Unknown rule",
                        }
                    )
                    continue
                targets.append(
                    {
                        "RuleName": rule.name,
                        "FixedRate": float(rule.fields["FixedRate"]),
                        "ReservoirQuota": int(rule.fields["ReservoirSize"]),
                        "ReservoirQuotaTTL": datetime.fromtimestamp(now + TARGET_INTERVAL_S, UTC),
                        "Interval": TARGET_INTERVAL_S,
                    }
                )
        return targets, unprocessed

    def reset(self) -> None:
        """Back to the Default rule only (tests)."""
        with self._lock:
            self._rules = {DEFAULT_RULE_NAME: Rule(self._complete(self._default_fields()))}
            self._used.clear()
