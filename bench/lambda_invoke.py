"""Lambda on the embedded emulator: cold start and warm invoke latency, next to two baselines
measured in the same run (the handler called in-process, and a cheap emulator API call).

    make bench                      # or: .venvs/dev/bin/python -m bench.lambda_invoke --warm 300

Everything is measured end to end from this process with boto3 (`Invoke`, RequestResponse).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import summary, table
from emulator.clients import client

HANDLER_FILE = Path(__file__).parent / "lambdas" / "trivial.py"


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HANDLER_FILE, HANDLER_FILE.name)
    return buffer.getvalue()


def create_function(lam: Any, code: bytes) -> str:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="trivial.handler",
        Code={"ZipFile": code},
        Timeout=10,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str) -> None:
    response = lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    if "FunctionError" in response:
        raise RuntimeError(response["Payload"].read())
    response["Payload"].read()


def in_process_handler() -> Callable[[], Any]:
    spec = importlib.util.spec_from_file_location("trivial", HANDLER_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda: module.handler(json.loads('{"n": 1}'), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=300, help="warm invokes (default 300)")
    parser.add_argument("--cold", type=int, default=30, help="cold starts (default 30)")
    args = parser.parse_args()

    lam = client("lambda")
    code = bundle()
    names = [create_function(lam, code) for _ in range(args.cold)]
    try:
        # A cold start is the first invoke of a function: a new execution environment.
        cold = [timed(functools.partial(invoke, lam, name), 1)[0] for name in names]
        warm_name = names[0]
        timed(lambda: invoke(lam, warm_name), 20)  # settle connections and caches
        warm = timed(lambda: invoke(lam, warm_name), args.warm)
        floor = timed(lambda: lam.list_functions(MaxItems=1), args.warm)
        local = timed(in_process_handler(), args.warm)
    finally:
        for name in names:
            lam.delete_function(FunctionName=name)

    warm_s, floor_s = summary(warm), summary(floor)
    print(
        table(
            [
                ("in-process handler call (baseline)", summary(local)),
                ("emulator API floor: lambda.list_functions (baseline)", floor_s),
                ("warm invoke, end to end", warm_s),
                ("cold start (first invoke, new environment)", summary(cold)),
            ]
        )
    )
    print(
        f"\nwarm p50 / API floor p50 = {warm_s['p50'] / floor_s['p50']:.2f}x; "
        f"warm p50 - floor p50 = {warm_s['p50'] - floor_s['p50']:.2f} ms"
    )


if __name__ == "__main__":
    main()
