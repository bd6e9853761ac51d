"""Step Functions time scaling, for tests: the saga's timeout branches in seconds, not minutes.

Like Temporal's time-skipping test environment, the emulator can run a state machine's waits
faster than the wall clock, without changing the definition that deploys to AWS. A factor
(``1`` = real time, the default; ``0.05`` = twenty times faster) is read at start from
``ORDERFLOW_SFN_TIME_SCALE`` and changed at run time by ``POST /_orderflow/time-scale``
``{"factor": 0.05}`` (``GET`` reads it; ``{"factor": 1}`` restores real time). LocalStack's
Step Functions interpreter then applies it to:

- **Wait states** (``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``): the time
  left to wait is scaled (for a timestamp, the time from now until then);
- **Retry intervals**: the delay before each retry, after ``IntervalSeconds``,
  ``BackoffRate``, ``MaxDelaySeconds`` and the jitter, is scaled (so ``MaxDelaySeconds`` too);
- **timeouts of callback tasks** (``.waitForTaskToken``): ``TimeoutSeconds`` and
  ``HeartbeatSeconds`` are scaled, never below ``TIMEOUT_FLOOR_S`` (1 s, or the unscaled value
  if that is shorter), so a scaled timeout still outlasts the interpreter's own latency.

**Not scaled**: the timeouts of every other task (a Lambda invocation, a request-response or
``.sync`` service call, an activity). Their duration is work being done, not a wait for
someone else: a Lambda step with ``TimeoutSeconds`` 10 that takes 2 s on a loaded emulator
would time out under a factor of 0.05 and send a normal order into compensation. Nor is the
execution's own ``TimeoutSeconds``. The execution history keeps the definition's values
(``timeoutInSeconds`` of ``TaskScheduled``); only the waiting is shorter.

A behaviour patch of the kit (tests depend on it; with the factor at 1 it changes nothing).
Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from orderflow_hostexec.patches import Patch, Target

TIME_SCALE_PATH = "/_orderflow/time-scale"
ENV_VARIABLE = "ORDERFLOW_SFN_TIME_SCALE"
TIMEOUT_FLOOR_S = 1.0


class TimeScale:
    """The factor Step Functions time runs at, and what it makes of each kind of wait."""

    def __init__(self, factor: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._factor = parse_factor(factor)

    @property
    def factor(self) -> float:
        with self._lock:
            return self._factor

    def set(self, factor: Any) -> float:
        """Change the factor (``ValueError`` saying why, for anything but a number in (0, 1])."""
        parsed = parse_factor(factor)
        with self._lock:
            self._factor = parsed
        return parsed

    def wait(self, seconds: float) -> float:
        """A Wait state's (or a retry's) time left to wait."""
        return max(0.0, seconds) * self.factor

    def timeout(self, seconds: float) -> float:
        """A callback task's timeout or heartbeat: scaled, but not below the floor."""
        factor = self.factor
        if factor == 1.0:
            return seconds
        return max(seconds * factor, min(float(seconds), TIMEOUT_FLOOR_S))


def parse_factor(value: Any) -> float:
    """A factor in (0, 1]: 1 is real time, 0.05 twenty times faster."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"factor must be a number in (0, 1], got {value!r}")
    if not 0 < value <= 1:
        raise ValueError(f"factor must be in (0, 1] (1 = real time), got {value}")
    return float(value)


def factor_from_environment(environ: dict[str, str] | None = None) -> float:
    """The factor ``ORDERFLOW_SFN_TIME_SCALE`` sets at start (1 when unset)."""
    raw = (os.environ if environ is None else environ).get(ENV_VARIABLE, "").strip()
    if not raw:
        return 1.0
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{ENV_VARIABLE} must be a number in (0, 1], got {raw!r}") from None
    return parse_factor(number)


SCALE = TimeScale()

# --- the interpreter's waits ---------------------------------------------------------------

_SCALING = threading.local()


@contextmanager
def _timeouts_scaled(scaled: bool) -> Iterator[None]:
    """Within: the timeouts and heartbeats this thread evaluates are scaled (or not)."""
    before = getattr(_SCALING, "on", False)
    _SCALING.on = scaled
    try:
        yield
    finally:
        _SCALING.on = before


def _is_callback_task(state: Any) -> bool:
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.resource import (  # noqa: E501
        ResourceCondition,
    )

    resource = getattr(state, "resource", None)
    return getattr(resource, "condition", None) == ResourceCondition.WaitForTaskToken


def _scaled_seconds(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], None]:
    """``Timeout._eval_body`` / ``Heartbeat._eval_body``: the seconds they push, scaled while
    a callback task waits (``_timeouts_scaled``); as written everywhere else (the history)."""

    def _eval_body(self: Any, env: Any) -> None:
        original(self, env)
        if getattr(_SCALING, "on", False):
            env.stack.append(SCALE.timeout(env.stack.pop()))

    return _eval_body


def scale_callback_timeouts() -> None:
    from localstack.services.stepfunctions.asl.component.common.timeouts.heartbeat import (
        Heartbeat,
    )
    from localstack.services.stepfunctions.asl.component.common.timeouts.timeout import Timeout
    from localstack.services.stepfunctions.asl.component.state.state_execution.execute_state import (  # noqa: E501
        ExecutionState,
    )
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )

    Timeout._eval_body = _scaled_seconds(Timeout._eval_body)
    Heartbeat._eval_body = _scaled_seconds(Heartbeat._eval_body)

    evaluate_with_timeout = ExecutionState._evaluate_with_timeout

    def _evaluate_with_timeout(self: Any, env: Any) -> None:
        # the state's deadline, in the thread that waits for it
        with _timeouts_scaled(_is_callback_task(self)):
            evaluate_with_timeout(self, env)

    ExecutionState._evaluate_with_timeout = _evaluate_with_timeout

    integration_pattern = StateTaskServiceCallback._eval_integration_pattern

    def _eval_integration_pattern(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: Any,
        state_credentials: Any,
    ) -> None:
        # the callback's own wait (and heartbeat), in the thread that runs the task
        with _timeouts_scaled(_is_callback_task(self)):
            integration_pattern(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )

    StateTaskServiceCallback._eval_integration_pattern = _eval_integration_pattern


def scale_wait_states() -> None:
    from localstack.services.stepfunctions.asl.component.state.state_wait.wait_function.wait_function import (  # noqa: E501
        WaitFunction,
    )

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        # LocalStack's loop, on a monotonic deadline in fractions of a second: it rounds the
        # time waited down to whole seconds, and would wait again for a scaled 0.5 s forever.
        deadline = time.monotonic() + SCALE.wait(wait_seconds)
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    WaitFunction._wait_interval = _wait_interval


class _ScaledSleep:
    """The ``time`` module as a Retrier sees it: its ``sleep`` scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(SCALE.wait(seconds))


def scale_retry_intervals() -> None:
    from localstack.services.stepfunctions.asl.component.common.retry import retrier_decl

    retrier_decl.time = _ScaledSleep()


# --- the route -------------------------------------------------------------------------------


def _time_scale(request: Any, **kwargs: Any) -> Any:
    from localstack.http import Response

    if request.method == "POST":
        try:
            try:
                body = json.loads(request.get_data() or b"null")
            except json.JSONDecodeError as error:
                raise ValueError(f"the body is not JSON ({error})") from None
            if not isinstance(body, dict) or "factor" not in body:
                raise ValueError('the body must be {"factor": <number in (0, 1]>}')
            SCALE.set(body["factor"])
        except ValueError as error:
            return Response.for_json({"error": str(error)}, status=400)
    return {"factor": SCALE.factor, "timeoutFloorSeconds": TIMEOUT_FLOOR_S}


def apply_time_scale() -> None:
    from localstack.services.edge import ROUTER

    SCALE.set(factor_from_environment())
    scale_wait_states()
    scale_retry_intervals()
    scale_callback_timeouts()
    ROUTER.add(TIME_SCALE_PATH, endpoint=_time_scale, methods=["GET", "POST"])


def _shapes_still_hold() -> str | None:
    """What the patch assumes of LocalStack's code beyond the targets' signatures."""
    import inspect

    from localstack.services.stepfunctions.asl.component.common.retry import retrier_decl
    from localstack.services.stepfunctions.asl.component.state.state_execution.execute_state import (  # noqa: E501
        ExecutionState,
    )
    from localstack.services.stepfunctions.asl.component.state.state_wait.wait_function.wait_function import (  # noqa: E501
        WaitFunction,
    )

    if "time.sleep(interval_seconds)" not in inspect.getsource(retrier_decl.RetrierDecl):
        return "RetrierDecl no longer waits with time.sleep(interval_seconds)"
    if "self._wait_interval(env=env, wait_seconds=" not in inspect.getsource(
        WaitFunction._eval_body
    ):
        return "WaitFunction._eval_body no longer waits through _wait_interval"
    source = inspect.getsource(ExecutionState._evaluate_with_timeout)
    if "self.timeout.eval(env=env)" not in source or ".wait(timeout_seconds)" not in source:
        return "ExecutionState._evaluate_with_timeout no longer waits for self.timeout's seconds"
    if ENV_VARIABLE in os.environ:
        try:
            factor_from_environment()
        except ValueError as error:
            return str(error)
    return None


_ASL = "localstack.services.stepfunctions.asl.component"
_STATE_EXECUTION = f"{_ASL}.state.state_execution"

PATCHES = (
    Patch(
        name="stepfunctions.time-scale",
        kind="behaviour",
        purpose=(
            f"Wait states, Retry intervals and callback-task timeouts run at a factor set by "
            f"POST {TIME_SCALE_PATH} (tests; 1 = real time)"
        ),
        targets=(
            Target(
                f"{_ASL}.common.timeouts.timeout", "Timeout._eval_body", parameters=("self", "env")
            ),
            Target(
                f"{_ASL}.common.timeouts.heartbeat",
                "Heartbeat._eval_body",
                parameters=("self", "env"),
            ),
            Target(
                f"{_STATE_EXECUTION}.execute_state",
                "ExecutionState._evaluate_with_timeout",
                parameters=("self", "env"),
            ),
            Target(
                f"{_STATE_EXECUTION}.state_task.service.state_task_service_callback",
                "StateTaskServiceCallback._eval_integration_pattern",
                parameters=(
                    "self",
                    "env",
                    "resource_runtime_part",
                    "normalised_parameters",
                    "state_credentials",
                ),
            ),
            Target(
                f"{_STATE_EXECUTION}.state_task.service.resource",
                "ResourceCondition.WaitForTaskToken",
                shape="object",
            ),
            Target(
                f"{_ASL}.state.state_wait.wait_function.wait_function",
                "WaitFunction._wait_interval",
                parameters=("self", "env", "wait_seconds"),
            ),
            Target(f"{_ASL}.common.retry.retrier_decl", "time.sleep"),
            Target("localstack.services.edge", "ROUTER.add"),
        ),
        apply=apply_time_scale,
        check=_shapes_still_hold,
    ),
)
