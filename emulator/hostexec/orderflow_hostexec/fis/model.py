"""AWS FIS, the parts that are pure: what an experiment template may say, and the decisions an
experiment makes (which functions it targets, how long its actions run, which invocations
a fault hits). Standard library only: the unit tests drive it without LocalStack.

Served actions (the Lambda actions of AWS FIS, and ``aws:fis:wait``), their parameters and
defaults as documented by AWS for the FIS Lambda extension:

- ``aws:lambda:invocation-error``: ``duration``, ``invocationPercentage`` (1-100, default 100),
  ``preventExecution`` (``true``: the invocation fails before the handler runs; ``false``,
  the default: the handler runs, then the invocation fails);
- ``aws:lambda:invocation-add-delay``: ``duration``, ``invocationPercentage``,
  ``startupDelayMilliseconds`` (0-900000, default 1000) before the handler runs;
- ``aws:lambda:invocation-http-integration-response``: ``duration``, ``invocationPercentage``,
  ``statusCode`` (100-599), ``contentTypeHeader``, ``preventExecution``: the invocation
  answers an API Gateway proxy response with that status instead of (or after) the handler's;
- ``aws:fis:wait``: ``duration`` only.

Actions of our own, offline only (AWS FIS has none such for Lambda functions), applied inside
the targeted functions' processes to their AWS SDK calls (``orderflow_hostexec/sdk_faults.py``):

- ``orderflow:dynamodb:throttle``: ``duration``, ``requestPercentage`` (1-100), ``operations``
  (optional comma list of DynamoDB data-plane operations; default all): those requests answer
  ``ProvisionedThroughputExceededException`` (HTTP 400), which botocore retries as on AWS;
- ``orderflow:events:put-events-partial-failure``: ``duration``, ``entryPercentage`` (1-100):
  that share of the entries of each ``PutEvents`` call fail (``InternalFailure``) and are not
  put on the bus.
Actions of our own, offline only (faults AWS FIS cannot inject; docs/chaos.md):

- ``orderflow:lambda:invocation-crash``: ``duration``, ``invocationPercentage``, ``crashPoint``
  (``after-handler``, the default: the handler runs, then its runtime process is killed before
  it answers; ``before-handler``: killed once it has the event);
- ``orderflow:lambda:invocation-timeout``: ``duration``, ``invocationPercentage``,
  ``preventExecution`` (``false``, the default: the handler runs, then the invocation does not
  answer until the function's timeout; ``true``: it hangs before the handler);
- ``orderflow:payments:provider-mode``: ``duration``, ``mode`` (``up``, ``down``, ``slow``) on
  ``aws:ssm:parameter`` targets (key ``Parameters``): the parameter is set to ``mode`` when
  the action starts and set back to the value it had when the action ends or is stopped.

The random draw for ``invocationPercentage`` (and for ``COUNT``/``PERCENT`` target selection)
is seedable: tag ``orderflow:seed`` on the experiment (StartExperiment ``tags``) or on the
template fixes it; without one, the seed is random and reported in the experiment's tags.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LAMBDA_FUNCTION = "aws:lambda:function"
SSM_PARAMETER = "aws:ssm:parameter"  # offline only: targets of orderflow:payments:provider-mode
RESOURCE_TYPES = (LAMBDA_FUNCTION, SSM_PARAMETER)
SEED_TAG = "orderflow:seed"
MAX_DURATION_S = 12 * 3600
STOP_CONDITION_NONE = "none"


class FisValidationError(ValueError):
    """What FIS answers as ``ValidationException``; the message names the culprit."""


@dataclass(frozen=True)
class ActionSpec:
    parameters: frozenset[str]
    required: frozenset[str]
    target_key: str | None  # the key of ``targets`` the action takes, None: no target
    resource_type: str = LAMBDA_FUNCTION  # of the target it takes


_LAMBDA_TARGET = "Functions"
ACTIONS: Mapping[str, ActionSpec] = {
    "aws:lambda:invocation-error": ActionSpec(
        frozenset({"duration", "invocationPercentage", "preventExecution"}),
        frozenset({"duration"}),
        _LAMBDA_TARGET,
    ),
    "aws:lambda:invocation-add-delay": ActionSpec(
        frozenset({"duration", "invocationPercentage", "startupDelayMilliseconds"}),
        frozenset({"duration"}),
        _LAMBDA_TARGET,
    ),
    "aws:lambda:invocation-http-integration-response": ActionSpec(
        frozenset(
            {
                "duration",
                "invocationPercentage",
                "preventExecution",
                "statusCode",
                "contentTypeHeader",
            }
        ),
        frozenset({"duration", "statusCode", "contentTypeHeader"}),
        _LAMBDA_TARGET,
    ),
    "aws:fis:wait": ActionSpec(frozenset({"duration"}), frozenset({"duration"}), None),
    # --- fis-sdk: faults in the functions' AWS SDK calls (offline only; see SDK_ACTIONS) ---
    "orderflow:dynamodb:throttle": ActionSpec(
        frozenset({"duration", "requestPercentage", "operations"}),
        frozenset({"duration", "requestPercentage"}),
        _LAMBDA_TARGET,
    ),
    "orderflow:events:put-events-partial-failure": ActionSpec(
        frozenset({"duration", "entryPercentage"}),
        frozenset({"duration", "entryPercentage"}),
        _LAMBDA_TARGET,
    ),
    # --- end fis-sdk ---
    # --- orderflow:lambda:* and orderflow:payments:* (offline only; helper fis-lambda) ---
    "orderflow:lambda:invocation-crash": ActionSpec(
        frozenset({"duration", "invocationPercentage", "crashPoint"}),
        frozenset({"duration"}),
        _LAMBDA_TARGET,
    ),
    "orderflow:lambda:invocation-timeout": ActionSpec(
        frozenset({"duration", "invocationPercentage", "preventExecution"}),
        frozenset({"duration"}),
        _LAMBDA_TARGET,
    ),
    "orderflow:payments:provider-mode": ActionSpec(
        frozenset({"duration", "mode"}),
        frozenset({"duration", "mode"}),
        "Parameters",
        SSM_PARAMETER,
    ),
    # --- end of fis-lambda's actions ---
}
CRASH_POINTS = ("after-handler", "before-handler")
PROVIDER_MODES = ("up", "down", "slow")

_DURATION = re.compile(r"^PT(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?$")
_SELECTION = re.compile(r"^(?:(?P<all>ALL)|COUNT\((?P<count>\d+)\)|PERCENT\((?P<percent>\d+)\))$")


def parse_duration(value: Any) -> float:
    """An ISO-8601 duration as FIS takes them (``PT1M``, ``PT30S``, ``PT1H30M``), in seconds."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise FisValidationError(
            f"duration must be an ISO 8601 duration such as PT1M or PT30S, got {value!r}"
        )
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
    if not 0 < seconds <= MAX_DURATION_S:
        raise FisValidationError(f"duration must be more than 0 and at most PT12H, got {value}")
    return seconds


def _integer(action: str, name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or str(number) != str(value).strip() or not low <= number <= high:
        raise FisValidationError(
            f"action {action}: parameter {name} must be an integer from {low} to {high}, "
            f"got {value!r}"
        )
    return number


def _choice(action: str, name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise FisValidationError(
            f"action {action}: parameter {name} must be one of {', '.join(allowed)}, got {value!r}"
        )
    return str(value)


def _boolean(action: str, name: str, value: Any) -> bool:
    if str(value).lower() not in ("true", "false"):
        raise FisValidationError(
            f"action {action}: parameter {name} must be true or false, got {value!r}"
        )
    return str(value).lower() == "true"


@dataclass(frozen=True)
class ActionParameters:
    """An action's parameters, parsed (defaults filled in)."""

    duration_s: float
    invocation_percentage: int = 100
    prevent_execution: bool = False
    startup_delay_ms: int = 1000
    status_code: int = 0
    content_type: str = ""
    # --- fis-sdk ---
    request_percentage: int = 100  # orderflow:dynamodb:throttle
    operations: tuple[str, ...] = ()  # orderflow:dynamodb:throttle, () = every data-plane one
    entry_percentage: int = 100  # orderflow:events:put-events-partial-failure
    # --- end fis-sdk ---
    crash_point: str = "after-handler"  # orderflow:lambda:invocation-crash
    mode: str = ""  # orderflow:payments:provider-mode


def parse_action(name: str, action_id: str, parameters: Mapping[str, Any]) -> ActionParameters:
    """Check one action of a template; its parameters parsed."""
    spec = ACTIONS.get(action_id)
    if spec is None:
        raise FisValidationError(
            f"action {name}: actionId {action_id!r} is not supported by the emulator "
            f"(supported: {', '.join(sorted(ACTIONS))})"
        )
    if unknown := sorted(set(parameters) - spec.parameters):
        raise FisValidationError(
            f"action {name} ({action_id}): unknown parameter(s) {', '.join(unknown)}"
        )
    if missing := sorted(spec.required - set(parameters)):
        raise FisValidationError(
            f"action {name} ({action_id}): missing required parameter(s) {', '.join(missing)}"
        )
    try:
        duration = parse_duration(parameters["duration"])
    except FisValidationError as error:
        raise FisValidationError(f"action {name}: {error}") from None
    return ActionParameters(
        duration_s=duration,
        invocation_percentage=_integer(
            name, "invocationPercentage", parameters.get("invocationPercentage", 100), 1, 100
        ),
        prevent_execution=_boolean(
            name, "preventExecution", parameters.get("preventExecution", "false")
        ),
        startup_delay_ms=_integer(
            name,
            "startupDelayMilliseconds",
            parameters.get("startupDelayMilliseconds", 1000),
            0,
            900_000,
        ),
        status_code=_integer(name, "statusCode", parameters.get("statusCode", 200), 100, 599),
        content_type=str(parameters.get("contentTypeHeader", "")),
        # --- fis-sdk ---
        request_percentage=_integer(
            name, "requestPercentage", parameters.get("requestPercentage", 100), 1, 100
        ),
        operations=_dynamodb_operations(name, parameters.get("operations")),
        entry_percentage=_integer(
            name, "entryPercentage", parameters.get("entryPercentage", 100), 1, 100
        ),
        # --- end fis-sdk ---
        crash_point=_choice(
            name, "crashPoint", parameters.get("crashPoint", "after-handler"), CRASH_POINTS
        ),
        mode=_choice(name, "mode", parameters["mode"], PROVIDER_MODES)
        if "mode" in parameters
        else "",
    )


# --- fis-sdk: the orderflow actions applied inside the functions' processes -----------------
# (orderflow_hostexec/sdk_faults.py, through botocore's event hooks). Offline only: AWS FIS has
# no such action for Lambda functions. What each counts (GetExperiment, the faults endpoint):
SDK_ACTIONS: Mapping[str, str] = {
    "orderflow:dynamodb:throttle": "DynamoDB requests",
    "orderflow:events:put-events-partial-failure": "PutEvents entries",
}

# DynamoDB's data-plane operations, the ones that answer ProvisionedThroughputExceededException
# on AWS (control-plane calls such as DescribeTable are throttled differently, never by this).
DYNAMODB_OPERATIONS = frozenset(
    {
        "BatchExecuteStatement",
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "ExecuteStatement",
        "ExecuteTransaction",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)


def _dynamodb_operations(action: str, value: Any) -> tuple[str, ...]:
    """``operations``: a comma list of DynamoDB operations (absent: all of them)."""
    if value is None:
        return ()
    names = [name.strip() for name in str(value).split(",")]
    if not all(names):
        raise FisValidationError(
            f"action {action}: parameter operations must be a comma list of DynamoDB "
            f"operations such as PutItem,TransactWriteItems, got {value!r}"
        )
    if unknown := sorted(set(names) - DYNAMODB_OPERATIONS):
        raise FisValidationError(
            f"action {action}: parameter operations names unknown DynamoDB operation(s) "
            f"{', '.join(unknown)} (known: {', '.join(sorted(DYNAMODB_OPERATIONS))})"
        )
    return tuple(sorted(set(names)))


# --- end fis-sdk -------------------------------------------------------------------------------


def parse_selection_mode(value: Any) -> tuple[str, int]:
    """``ALL``, ``COUNT(n)`` or ``PERCENT(n)`` as (kind, n)."""
    match = _SELECTION.match(value) if isinstance(value, str) else None
    if not match:
        raise FisValidationError(
            f"selectionMode must be ALL, COUNT(n) or PERCENT(n), got {value!r}"
        )
    if match["all"]:
        return "ALL", 0
    if match["count"] is not None:
        count = int(match["count"])
        if count < 1:
            raise FisValidationError(f"selectionMode COUNT(n) needs n >= 1, got {value}")
        return "COUNT", count
    percent = int(match["percent"])
    if not 1 <= percent <= 100:
        raise FisValidationError(f"selectionMode PERCENT(n) needs 1 <= n <= 100, got {value}")
    return "PERCENT", percent


def validate_target(name: str, target: Mapping[str, Any]) -> None:
    if target.get("resourceType") not in RESOURCE_TYPES:
        raise FisValidationError(
            f"target {name}: resourceType {target.get('resourceType')!r} is not supported by "
            f"the emulator (only {', '.join(RESOURCE_TYPES)})"
        )
    arns, tags = target.get("resourceArns"), target.get("resourceTags")
    if bool(arns) == bool(tags):
        raise FisValidationError(
            f"target {name}: give exactly one of resourceArns and resourceTags"
        )
    if target.get("filters"):
        raise FisValidationError(f"target {name}: filters are not supported by the emulator")
    try:
        parse_selection_mode(target.get("selectionMode"))
    except FisValidationError as error:
        raise FisValidationError(f"target {name}: {error}") from None


def validate_stop_conditions(conditions: Sequence[Mapping[str, Any]]) -> None:
    if not conditions:
        raise FisValidationError("stopConditions: at least one is required (source 'none')")
    for condition in conditions:
        source = condition.get("source")
        if source != STOP_CONDITION_NONE:
            raise FisValidationError(
                f"stopConditions: source {source!r} is not supported by the emulator "
                "(only 'none'; aws:cloudwatch:alarm is not evaluated offline)"
            )


def validate_template(
    targets: Mapping[str, Mapping[str, Any]],
    actions: Mapping[str, Mapping[str, Any]],
    stop_conditions: Sequence[Mapping[str, Any]],
) -> None:
    """Everything a template says, checked as CreateExperimentTemplate would."""
    if not actions:
        raise FisValidationError("actions: at least one action is required")
    for name, target in targets.items():
        validate_target(name, target)
    for name, action in actions.items():
        action_id = action.get("actionId", "")
        parse_action(name, action_id, action.get("parameters") or {})
        spec = ACTIONS[action_id]
        given = action.get("targets") or {}
        if spec.target_key is None:
            if given:
                raise FisValidationError(f"action {name} ({action_id}) takes no targets")
            continue
        if set(given) != {spec.target_key}:
            raise FisValidationError(
                f"action {name} ({action_id}): targets must be {{{spec.target_key!r}: <target>}}"
            )
        if given[spec.target_key] not in targets:
            raise FisValidationError(
                f"action {name}: target {given[spec.target_key]!r} is not defined in targets"
            )
        resource_type = targets[given[spec.target_key]].get("resourceType")
        if resource_type != spec.resource_type:
            raise FisValidationError(
                f"action {name} ({action_id}): target {given[spec.target_key]!r} must have "
                f"resourceType {spec.resource_type}, not {resource_type}"
            )
        for after in action.get("startAfter") or []:
            raise FisValidationError(
                f"action {name}: startAfter ({after}) is not supported by the emulator"
            )
    validate_stop_conditions(stop_conditions)


def select_targets(
    candidates: Mapping[str, Mapping[str, str]],
    target: Mapping[str, Any],
    rng: random.Random,
) -> list[str]:
    """The resource ARNs a target resolves to at StartExperiment.

    ``candidates`` maps every resource of the target's type (function: its unqualified ARN;
    SSM parameter: its ARN) to its tags. A target by ``resourceArns`` names resources that
    must exist; by ``resourceTags``, it takes the resources carrying all those tags. Then
    ``selectionMode`` picks (at random for COUNT and PERCENT, rounding PERCENT down but
    keeping at least one).
    """
    if arns := target.get("resourceArns"):
        if missing := [arn for arn in arns if arn not in candidates]:
            raise FisValidationError(f"target resources not found: {', '.join(missing)}")
        matched = sorted(set(arns))
    else:
        wanted = dict(target.get("resourceTags") or {})
        matched = sorted(
            arn
            for arn, tags in candidates.items()
            if all(tags.get(key) == value for key, value in wanted.items())
        )
    if not matched:
        raise FisValidationError(
            f"target resolved to no resources (resourceTags {target.get('resourceTags')})"
        )
    kind, n = parse_selection_mode(target.get("selectionMode"))
    if kind == "ALL":
        return matched
    count = min(n, len(matched)) if kind == "COUNT" else max(1, len(matched) * n // 100)
    return sorted(rng.sample(matched, count))


def seed_from(*tag_maps: Mapping[str, str] | None) -> int | None:
    """The ``orderflow:seed`` tag of the first map that has one (an integer)."""
    for tags in tag_maps:
        if tags and SEED_TAG in tags:
            try:
                return int(tags[SEED_TAG])
            except ValueError:
                raise FisValidationError(
                    f"tag {SEED_TAG} must be an integer, got {tags[SEED_TAG]!r}"
                ) from None
    return None


class Draw:
    """The seeded random draw of one experiment (thread-safe: invocations run in parallel)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hits(self, percentage: int) -> bool:
        """Whether this invocation gets the fault, ``percentage`` times in 100."""
        if percentage >= 100:
            return True
        with self._lock:
            return self._rng.random() * 100 < percentage

    def seed(self) -> int:
        """A seed for a draw made elsewhere (fis-sdk: inside a function's process), taken from
        this one, so an experiment's seed still fixes it."""
        with self._lock:
            return self._rng.randrange(2**31)
