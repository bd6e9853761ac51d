"""Parse each JSONPath once in LocalStack's Step Functions interpreter.

LocalStack 2026.3 evaluates every InputPath, ResultPath and payload path of every state with
``jsonpath_ng.parse(path)``, and jsonpath-ng builds its LALR parser tables from scratch on each
call (``write_tables=0``). Under load that was the largest single cost of running the saga
(py-spy on the emulator during bench/orders.py). A state machine has a fixed, small set of
paths, and a parsed expression is immutable, so the parse is memoised.

Applied at emulator start (entry point ``localstack.hooks.on_infra_start``).
"""

from __future__ import annotations

from functools import lru_cache

from localstack.runtime import hooks

_PARSED_PATHS = 4096


@hooks.on_infra_start()
def memoise_jsonpath_parsing() -> None:
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    for module in (json_path, result_path):
        if not hasattr(module, "parse"):
            raise RuntimeError(f"localstack moved {module.__name__}.parse: update stepfunctions.py")
        module.parse = lru_cache(maxsize=_PARSED_PATHS)(module.parse)
