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
  describes itself by the types it holds, which is all such a message needs.

Applied at emulator start (entry points ``localstack.hooks.on_infra_start``), before the
Step Functions provider imports these functions.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

from localstack.runtime import hooks

_PARSED_PATHS = 4096
CLIENT_TTL_S = 300


@hooks.on_infra_start()
def memoise_jsonpath_parsing() -> None:
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    for module in (json_path, result_path):
        if not hasattr(module, "parse"):
            raise RuntimeError(f"localstack moved {module.__name__}.parse: update stepfunctions.py")
        module.parse = lru_cache(maxsize=_PARSED_PATHS)(module.parse)


@hooks.on_infra_start()
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


@hooks.on_infra_start()
def cheap_typed_props_repr() -> None:
    from localstack.services.stepfunctions.asl.parse.typed_props import TypedProps

    def __repr__(self: Any) -> str:
        kinds = ", ".join(kind.__name__ for kind in getattr(self, "_instance_by_type", {}))
        return f"TypedProps({kinds})"

    TypedProps.__repr__ = __repr__
