"""The faults of running FIS experiments, as the host executor applies them to invocations.

The FIS provider (``provider.py``) adds an experiment's Lambda actions when it starts running
and removes them when it completes or is stopped; ``executor.py`` asks ``BOARD.plan`` for each
invocation of a function and applies what it answers. Every injected fault is counted per
experiment and action: ``GET /_orderflow/fis/faults``, and the reason of each action's state
in GetExperiment. Standard library only.

The ``orderflow:...`` SDK actions (``model.SDK_ACTIONS``) are not applied here: ``plan`` sends
them down with the invocation (``InvocationPlan.sdk``), the function's process applies them to
its SDK calls (``sdk_faults.py``) and reports what it injected, which ``record`` counts (per
DynamoDB request, per PutEvents entry).

The error an injected ``aws:lambda:invocation-error`` returns is the Lambda error payload
``{"errorType": "FaultInjected", "errorMessage": ...}`` naming the experiment and action (the
exact payload of AWS's FIS Lambda extension is not documented; this shape is the emulator's).

The offline-only ``orderflow:lambda:invocation-crash`` and ``orderflow:lambda:invocation-timeout``
answer nothing themselves: the plan says where to kill or freeze the runtime process
(``InvocationPlan.crash``/``hang``) and the executor's ``RuntimeProcess`` does it, so the
invocation fails as a crashed or timed-out runtime does (``Runtime.ExitError``,
``Sandbox.Timedout``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orderflow_hostexec import sdk_faults
from orderflow_hostexec.fis.model import SDK_ACTIONS, ActionParameters, Draw

FAULTS_PATH = "/_orderflow/fis/faults"
ERROR_TYPE = "FaultInjected"
CRASH = "orderflow:lambda:invocation-crash"
TIMEOUT = "orderflow:lambda:invocation-timeout"


@dataclass
class ActiveAction:
    """One Lambda action of a running experiment, on its resolved functions."""

    experiment_id: str
    name: str
    action_id: str
    functions: frozenset[str]  # unqualified function ARNs
    parameters: ActionParameters
    draw: Draw
    ends_at: float  # time.monotonic()
    injected: int = 0
    seen: int = 0

    def message(self) -> str:
        return f"AWS FIS experiment {self.experiment_id}, action {self.name} ({self.action_id})"


@dataclass
class InvocationPlan:
    """What to do to one invocation; the empty plan changes nothing."""

    delay_ms: int = 0
    before: tuple[bytes, bool] | None = None  # (body, is_error) instead of running the handler
    after: tuple[bytes, bool] | None = None  # (body, is_error) in place of the handler's answer
    crash: str | None = None  # kill the runtime process at this crashPoint (model.CRASH_POINTS)
    hang: str | None = None  # no answer until the timeout: "before-handler" or "after-handler"
    actions: list[str] = field(default_factory=list)
    # fis-sdk: faults the function's own process applies to its AWS SDK calls (sdk_faults.py),
    # sent down with the invocation; what they injected comes back with its answer (record)
    sdk: list[dict[str, Any]] = field(default_factory=list)


def error_body(action: ActiveAction) -> bytes:
    return json.dumps(
        {"errorType": ERROR_TYPE, "errorMessage": f"Fault injected by {action.message()}"}
    ).encode()


def http_body(action: ActiveAction) -> bytes:
    return json.dumps(
        {
            "statusCode": action.parameters.status_code,
            "headers": {"Content-Type": action.parameters.content_type},
            "body": "",
            "isBase64Encoded": False,
        }
    ).encode()


class FaultBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, list[ActiveAction]] = {}  # experiment id -> actions
        self._finished: dict[tuple[str, str], tuple[int, int]] = {}  # counts of ended ones

    def add(self, experiment_id: str, actions: Iterable[ActiveAction]) -> None:
        with self._lock:
            self._active[experiment_id] = list(actions)

    def remove(self, experiment_id: str) -> None:
        with self._lock:
            for action in self._active.pop(experiment_id, []):
                self._finished[(experiment_id, action.name)] = (action.injected, action.seen)

    def inject(self, experiment_id: str, name: str) -> None:
        """Count one fault of an action that hits no invocation (``provider-mode``)."""
        with self._lock:
            for action in self._active.get(experiment_id, []):
                if action.name == name:
                    action.injected += 1

    def counts(self, experiment_id: str, name: str) -> tuple[int, int]:
        """(injected, invocations seen) of one action, running or ended."""
        with self._lock:
            for action in self._active.get(experiment_id, []):
                if action.name == name:
                    return action.injected, action.seen
            return self._finished.get((experiment_id, name), (0, 0))

    def report(self) -> dict[str, Any]:
        with self._lock:
            experiments: dict[str, dict[str, Any]] = {}
            for (experiment_id, name), (injected, seen) in self._finished.items():
                experiments.setdefault(experiment_id, {})[name] = {
                    "injected": injected,
                    "invocations": seen,
                    "active": False,
                }
            for experiment_id, actions in self._active.items():
                for action in actions:
                    experiments.setdefault(experiment_id, {})[action.name] = {
                        "actionId": action.action_id,
                        "injected": action.injected,
                        "invocations": action.seen,
                        "active": True,
                    }
            return {"experiments": experiments}

    def plan(self, function_arn: str, now: float | None = None) -> InvocationPlan:
        """What the running experiments do to this invocation of ``function_arn``."""
        now = time.monotonic() if now is None else now
        plan = InvocationPlan()
        with self._lock:
            if not self._active:
                return plan
            actions = [
                action
                for actions in self._active.values()
                for action in actions
                if function_arn in action.functions and now < action.ends_at
            ]
            for action in actions:
                if action.action_id in SDK_ACTIONS:  # fis-sdk: drawn per request or entry
                    plan.sdk.append(sdk_fault(action))
                    continue
                action.seen += 1
                if not action.draw.hits(action.parameters.invocation_percentage):
                    continue
                action.injected += 1
                plan.actions.append(f"{action.experiment_id}/{action.name}")
                if action.action_id == CRASH:
                    plan.crash = plan.crash or action.parameters.crash_point
                    continue
                if action.action_id == TIMEOUT:
                    before = action.parameters.prevent_execution
                    plan.hang = plan.hang or ("before-handler" if before else "after-handler")
                    continue
                kind = action.action_id.rsplit(":", 1)[-1]
                if kind == "invocation-add-delay":
                    plan.delay_ms += action.parameters.startup_delay_ms
                    continue
                outcome = (
                    (error_body(action), True)
                    if kind == "invocation-error"
                    else (http_body(action), False)
                )
                if action.parameters.prevent_execution:
                    plan.before = plan.before or outcome
                else:
                    plan.after = plan.after or outcome
        return plan

    # --- fis-sdk -------------------------------------------------------------------------------

    def record(self, counts: dict[str, Any]) -> None:
        """Add what a function's process reports its SDK faults did: ``{"<experiment id>/<action
        name>": [injected, seen]}`` (the action may have ended meanwhile)."""
        with self._lock:
            for key, (injected, seen) in counts.items():
                experiment_id, _, name = key.partition("/")
                action = next(
                    (a for a in self._active.get(experiment_id, []) if a.name == name), None
                )
                if action is not None:
                    action.injected += int(injected)
                    action.seen += int(seen)
                elif (experiment_id, name) in self._finished:
                    done, saw = self._finished[(experiment_id, name)]
                    self._finished[(experiment_id, name)] = (done + int(injected), saw + int(seen))


def sdk_fault(action: ActiveAction) -> dict[str, Any]:
    """An SDK fault as the function's process takes it (orderflow_hostexec/sdk_faults.py): the
    draw is made there, seeded from the experiment's draw, per request or entry."""
    parameters = action.parameters
    throttle = action.action_id == "orderflow:dynamodb:throttle"
    return {
        "key": f"{action.experiment_id}/{action.name}",
        "kind": sdk_faults.DYNAMODB_THROTTLE if throttle else sdk_faults.PUT_EVENTS_PARTIAL_FAILURE,
        "percentage": parameters.request_percentage if throttle else parameters.entry_percentage,
        "operations": list(parameters.operations),
        "seed": action.draw.seed(),
        "source": action.message(),
    }


BOARD = FaultBoard()
