"""The reconciler's lease and what a run reports."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared_kernel.fencing import Fence

Cursor = dict[str, Any] | None
"""Where a job's scan resumes (a DynamoDB key of plain strings), None: from the start."""


@dataclass(frozen=True)
class Lease:
    """A held lease: who holds it, the fencing token of this acquisition, until when, and the
    jobs' scan cursors (kept on the lease item, so the next holder resumes where this one
    stopped)."""

    owner: str
    token: int
    expires_at: datetime
    fence: Fence
    cursors: dict[str, Cursor] = field(default_factory=dict)


@dataclass
class JobReport:
    """What one job found and fixed in one run (one log line, a few metrics)."""

    job: str
    fixes: frozenset[str]
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    complete: bool = False
    """The scan reached the end of the table (the next run starts from the beginning)."""

    @property
    def found(self) -> int:
        return sum(self.outcomes.values())

    @property
    def fixed(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if outcome in self.fixes)

    def to_wire(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "found": self.found,
            "fixed": self.fixed,
            "outcomes": dict(sorted(self.outcomes.items())),
            "errors": self.errors,
            "complete": self.complete,
        }


@dataclass
class RunReport:
    """One invocation: whether it held the lease (and with which token), what each job did,
    and whether it was fenced off (another holder took over while it ran)."""

    owner: str
    acquired: bool
    token: int | None = None
    holder: dict[str, Any] | None = None
    jobs: list[JobReport] = field(default_factory=list)
    fenced_off: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "acquired": self.acquired,
            "token": self.token,
            "holder": self.holder,
            "fencedOff": self.fenced_off,
            "jobs": [job.to_wire() for job in self.jobs],
        }
