"""Error taxonomy shared by the domain services.

Two families, because callers treat them differently:

* `BusinessError`: the request broke a business rule (out of stock, card declined, malformed
  event). Retrying cannot help. Step Functions `Catch`es these by class name (the Lambda
  runtime reports the exception class name as the error type), so concrete subclasses live in
  the services and their names are part of the state machine's contract.
* `TransientError`: something outside us failed for now (provider down, EventBridge throttled).
  Retrying can help. Step Functions `Retry`s them; batch handlers report the record as failed.
"""

from typing import Any


class BusinessError(Exception):
    """A business rule rejected the request; never retried. `reason` is a stable code."""

    reason: str = "BUSINESS_RULE_VIOLATED"

    def __init__(self, message: str, *, reason: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "reason": self.reason, "message": str(self)}


class TransientError(Exception):
    """A dependency failed in a way that a retry may fix."""


class MalformedEventError(BusinessError):
    """An incoming event does not match its schema; `field` names the attribute at fault."""

    reason = "MALFORMED_EVENT"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"malformed event: {field}: {problem}", field=field)
        self.field = field
        self.problem = problem
