"""Per-execution costs of LocalStack's Step Functions interpreter, paid once or not at all.

Each showed at the top of py-spy profiles of the emulator under bench/orders.py:

- every InputPath, ResultPath and payload path is evaluated with ``jsonpath_ng.parse(path)``,
  and jsonpath-ng builds its LALR parser tables from scratch on each call
  (``write_tables=0``). A state machine has a small, fixed set of paths and a parsed
  expression is immutable, so the parse is memoised;
- every Task state builds a new boto3 client (and assumes the execution role again) for the
  service it calls. Clients are thread-safe, so one per (service, region, role) is kept for a
  few minutes, well inside the assumed role's session;
- every execution parses its definition again, and building each Retry and Catch formats an
  error message that embeds ``repr`` of the declaration's properties, whether or not the
  declaration is missing anything: a recursive dump of the component tree. With the saga's
  retriers that was 18.4% of the emulator's GIL time at 4 orders/s. ``TypedProps`` now
  describes itself by the types it holds, which is all such a message needs;
- and even without that dump, parsing the saga's definition (ANTLR, then building the
  component tree) took 42 ms of CPU, for every execution. The parsed program is kept per
  definition text (``stepfunctions.parsed-definitions``, at most ``_PARSED_DEFINITIONS``): the
  component tree holds no state of an execution (each execution evaluates it with an
  ``Environment`` of its own; LocalStack's Map and Parallel states already run one subtree in
  several threads at once), so executions of one definition share it. A new or updated
  definition is a new text, parsed once.

Performance hooks: executions give the same results. Declared in ``PATCHES`` and applied by
``startup.py`` after every patch's targets have been checked (``patches.py``), before the
Step Functions provider imports these functions.
"""

from __future__ import annotations

import sys
import threading
import time
from functools import lru_cache
from typing import Any

from orderflow_hostexec.patches import Patch, Target

_PARSED_PATHS = 4096
_PARSED_DEFINITIONS = 64
CLIENT_TTL_S = 300


def memoise_jsonpath_parsing() -> None:
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    for module in (json_path, result_path):
        module.parse = lru_cache(maxsize=_PARSED_PATHS)(module.parse)


def reuse_task_clients() -> None:
    from localstack.services.stepfunctions.asl.utils import boto_client

    build = boto_client.boto_client_for
    clients: dict[tuple[str, str, str], tuple[float, Any]] = {}
    lock = threading.Lock()

    def boto_client_for(service: str, region: str, state_credentials: Any) -> Any:
        key = (service, region, state_credentials.role_arn)
        now = time.monotonic()
        with lock:
            cached = clients.get(key)
        if cached and now - cached[0] < CLIENT_TTL_S:
            return cached[1]
        client = build(service, region, state_credentials)
        with lock:
            clients[key] = (now, client)
        return client

    boto_client.boto_client_for = boto_client_for
    # Task states import ``boto_client_for`` by name: those imported already (another patch's
    # targets may import the provider) are bound to LocalStack's, and rebound here.
    for name, module in list(sys.modules.items()):
        if name.startswith(_ASL) and getattr(module, "boto_client_for", None) is build:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


def cheap_typed_props_repr() -> None:
    from localstack.services.stepfunctions.asl.parse.typed_props import TypedProps

    def __repr__(self: Any) -> str:
        kinds = ", ".join(kind.__name__ for kind in getattr(self, "_instance_by_type", {}))
        return f"TypedProps({kinds})"

    TypedProps.__repr__ = __repr__


def parse_each_definition_once() -> None:
    from localstack.services.stepfunctions.asl.component.eval_component import EvalComponent
    from localstack.services.stepfunctions.asl.parse.asl_parser import (
        AmazonStateLanguageParser,
    )

    parse = AmazonStateLanguageParser.parse  # a staticmethod: the plain function

    @lru_cache(maxsize=_PARSED_DEFINITIONS)
    def parse_once(definition: str) -> Any:
        parsed = parse(definition)
        _settle_heap_keys(parsed[0], EvalComponent)
        return parsed

    AmazonStateLanguageParser.parse = staticmethod(parse_once)


def _settle_heap_keys(root: Any, component_type: type) -> None:
    """Give every component of the tree its ``heap_key`` now: it is drawn at first use, and two
    executions drawing it at once would each keep their own (their retry counters would be
    looked up under the other's key)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, component_type):
            _ = node.heap_key  # type: ignore[attr-defined]
        if isinstance(node, list | tuple | set | frozenset):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif type(node).__module__.startswith(_ASL) and hasattr(node, "__dict__"):
            stack.extend(vars(node).values())  # components, and what holds them (States...)


def _executions_parse_through_the_parser() -> str | None:
    import inspect

    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker

    if "AmazonStateLanguageParser.parse(" not in inspect.getsource(
        ExecutionWorker._get_evaluation_entrypoint
    ):
        return "ExecutionWorker no longer parses its definition with AmazonStateLanguageParser"
    return None


def _task_clients_keyed_by_role() -> str | None:
    if "role_arn" not in getattr(_CREDENTIALS.resolve(), "__annotations__", {}):
        return "StateCredentials has no role_arn (the cache key)"
    return None


def _typed_props_keep_instances_by_type() -> str | None:
    from localstack.services.stepfunctions.asl.parse.typed_props import TypedProps

    if not isinstance(getattr(TypedProps(), "_instance_by_type", None), dict):
        return "TypedProps() has no dict _instance_by_type (what the repr lists)"
    return None


_ASL = "localstack.services.stepfunctions.asl"
_CREDENTIALS = Target(
    f"{_ASL}.component.state.state_execution.state_task.credentials",
    "StateCredentials",
    shape="class",
)

PATCHES = (
    Patch(
        name="stepfunctions.jsonpath-memo",
        kind="performance",
        purpose="each JSONPath of a state machine parsed once (jsonpath-ng's parse memoised)",
        targets=(
            # jsonpath-ng's parsers, as LocalStack imported them: ext (filters) and plain
            Target(f"{_ASL}.utils.json_path", "parse", parameters=("path", "debug")),
            Target(f"{_ASL}.component.common.path.result_path", "parse", parameters=("string",)),
        ),
        apply=memoise_jsonpath_parsing,
        distributions=("localstack-core", "jsonpath-ng"),
    ),
    Patch(
        name="stepfunctions.task-clients",
        kind="performance",
        purpose="a Task state's boto3 client reused per (service, region, role) for 5 minutes",
        targets=(
            Target(
                f"{_ASL}.utils.boto_client",
                "boto_client_for",
                parameters=("service", "region", "state_credentials"),
            ),
            _CREDENTIALS,
        ),
        apply=reuse_task_clients,
        check=_task_clients_keyed_by_role,
    ),
    Patch(
        name="stepfunctions.typed-props-repr",
        kind="performance",
        purpose="TypedProps describes itself by its types, not a dump of the definition",
        targets=(
            Target(f"{_ASL}.parse.typed_props", "TypedProps", shape="class"),
            Target(f"{_ASL}.parse.typed_props", "TypedProps.__init__", parameters=("self",)),
        ),
        apply=cheap_typed_props_repr,
        check=_typed_props_keep_instances_by_type,
    ),
    Patch(
        name="stepfunctions.parsed-definitions",
        kind="performance",
        purpose="a state machine's definition parsed once, not at every execution (42 ms CPU)",
        targets=(
            Target(f"{_ASL}.parse.asl_parser", "AmazonStateLanguageParser", shape="class"),
            Target(
                f"{_ASL}.parse.asl_parser",
                "AmazonStateLanguageParser.parse",
                parameters=("definition",),
            ),
            Target(
                "localstack.services.stepfunctions.backend.execution_worker",
                "ExecutionWorker._get_evaluation_entrypoint",
                parameters=("self",),
            ),
        ),
        apply=parse_each_definition_once,
        check=_executions_parse_through_the_parser,
    ),
)
