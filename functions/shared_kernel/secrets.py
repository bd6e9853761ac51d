"""Secrets (provider credentials, webhook signing secrets, JWT signing keys): read from Secrets
Manager through Powertools Parameters, cached per execution environment for ``max_age``
seconds, so a rotated value reaches every environment within that time.

A function is given a secret's *name* (``<SERVICE>_SECRET_NAME``-style settings), never its
value: values stay out of environment variables, stack outputs, events and logs. Names follow
``orderflow/<stage>/<purpose>`` (``infra/secrets.py``); a function's role is granted read on
exactly the secrets it uses (``secret.grant_read(function)``).
"""

import json
from typing import Any

from aws_lambda_powertools.utilities import parameters

DEFAULT_MAX_AGE_SECONDS = 300


class SecretUnavailable(Exception):
    """The secret could not be read (missing, not allowed, or not the shape expected). The
    message names the secret, never its value."""


def secret_string(name: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """The secret's current string value (cached ``max_age`` seconds)."""
    try:
        value = parameters.get_secret(name, max_age=max_age)
    except parameters.exceptions.GetParameterError as exc:
        raise SecretUnavailable(f"secret {name!r} could not be read") from exc
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def secret_json(name: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, Any]:
    """The secret's current value, a JSON object (cached ``max_age`` seconds)."""
    try:
        value = json.loads(secret_string(name, max_age=max_age))
    except ValueError as exc:
        raise SecretUnavailable(f"secret {name!r} is not JSON") from exc
    if not isinstance(value, dict):
        raise SecretUnavailable(f"secret {name!r} is not a JSON object")
    return value


def forget_secrets() -> None:
    """Drop every cached value (tests; a function after it rotated a secret itself)."""
    parameters.clear_caches()
