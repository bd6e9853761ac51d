"""What the code under test asks DynamoDB, counted on the shared resource's client."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared_kernel import aws


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the code makes inside the block, in order."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws.dynamodb().meta.client.meta.events
    events.register("before-call.dynamodb", record)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", record)
