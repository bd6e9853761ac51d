"""The probe's LocalStack start-up hook (entry point ``localstack.hooks.on_infra_start``),
loaded only when ``ORDERFLOW_BENCH_PROBE=1``: a finalizer in the gateway's handler chain
(finalizers run for every request, whichever handler answered it) counts each request
(``counting.key_of``), and two routes serve the counts:

- ``GET /_orderflow_bench/counts``: ``{"counts": [{caller, service, operation, detail,
  count}, ...]}`` since start or the last reset;
- ``DELETE /_orderflow_bench/counts``: reset.

Benchmark-only: it costs a lock and a dict update per request, so bench/ab.py enables it for
its counting runs only, never while it measures CPU.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

from localstack.runtime import hooks

from orderflow_bench_probe.counting import Key, as_rows, key_of

ENABLE_VARIABLE = "ORDERFLOW_BENCH_PROBE"
COUNTS_PATH = "/_orderflow_bench/counts"

_counts: Counter[Key] = Counter()
_lock = threading.Lock()


def _count(chain: Any, context: Any, response: Any) -> None:
    request = context.request
    if request is None:
        return
    service = context.service.service_name if context.service else None
    exception = context.service_exception
    key = key_of(
        method=request.method,
        path=request.path,
        user_agent=request.headers.get("User-Agent", ""),
        internal_params=context.internal_request_params,
        service=service,
        operation=context.operation.name if context.operation else None,
        answer=context.service_response if isinstance(context.service_response, dict) else None,
        error_code=getattr(exception, "code", type(exception).__name__) if exception else None,
    )
    if key is not None:
        with _lock:
            _counts[key] += 1


def _serve(request: Any, **kwargs: Any) -> dict[str, Any]:
    with _lock:
        return {"counts": as_rows(_counts)}


def _reset(request: Any, **kwargs: Any) -> dict[str, Any]:
    with _lock:
        _counts.clear()
    return {"counts": []}


def _enabled() -> bool:
    return os.environ.get(ENABLE_VARIABLE) == "1"


@hooks.on_infra_start(should_load=_enabled)
def install_probe() -> None:
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER

    handlers.run_custom_finalizers.append(_count)
    ROUTER.add(COUNTS_PATH, endpoint=_serve, methods=["GET"])
    ROUTER.add(COUNTS_PATH, endpoint=_reset, methods=["DELETE"])
