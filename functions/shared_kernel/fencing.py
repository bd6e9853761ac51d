"""Fencing tokens: a write that only happens while its writer still holds a lease.

A lease (``reconciler.dal.lease``) is a DynamoDB item whose ``token`` is incremented at every
acquisition. A holder passes its ``Fence`` to the stores it writes through; each store appends
``fence.check()`` (a ``ConditionCheck`` that the lease item's token is still the holder's) to
the same ``TransactWriteItems`` as its own write. A former holder whose lease expired and was
taken over (the token moved on) therefore cannot write anything, however long it was paused:
DynamoDB cancels the whole transaction, and ``raise_if_fenced`` turns that into ``FencedOff``.

No I/O here: the stores do the writing, and the fence is always their last action.
"""

from dataclasses import dataclass
from typing import Any

CONDITION_FAILED = "ConditionalCheckFailed"


class FencedOff(Exception):
    """A write was refused because the writer's lease was taken over (its token is stale)."""

    def __init__(self, token: int) -> None:
        super().__init__(f"lease token {token} is no longer current: another holder took over")
        self.token = token


@dataclass(frozen=True)
class Fence:
    """The lease item (table and key) and the token its holder acquired."""

    table_name: str
    key: dict[str, str]
    token: int

    def check(self) -> dict[str, Any]:
        """The ``ConditionCheck`` action: the lease's token is still ``token``."""
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": self.key,
                "ConditionExpression": "#token = :token",
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":token": self.token},
            }
        }


def fenced(actions: list[Any], fence: Fence | None) -> list[Any]:
    """``actions`` with the fence's check appended last (unchanged without a fence)."""
    return [*actions, fence.check()] if fence is not None else actions


def raise_if_fenced(codes: list[str] | None, fence: Fence | None) -> None:
    """Raise FencedOff when a cancelled transaction's last action, the fence, failed."""
    if fence is not None and codes and codes[-1] == CONDITION_FAILED:
        raise FencedOff(fence.token)
