"""Helpers shared by the integration tests."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def zipped(*files: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            archive.write(file, file.name)
    return buffer.getvalue()


def invoke(lambda_client: Any, name: str, event: dict[str, Any] | None = None) -> tuple[dict, Any]:
    """Invoke synchronously; returns (response metadata, decoded payload)."""
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return response, json.loads(response["Payload"].read())


def eventually[T](probe: Callable[[], T | None], timeout_s: float = 30, every_s: float = 0.5) -> T:
    """Poll until ``probe`` returns something truthy; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last value: {value!r})")
        time.sleep(every_s)


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
