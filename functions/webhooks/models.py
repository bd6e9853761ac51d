"""The webhooks service's models: API bodies, the stored subscription and attempts, the
delivery queue's messages, and the signing secret's shape in Secrets Manager."""

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared_kernel.models import CamelModel

SUBSCRIPTION_ID_PATTERN = r"^wh_[0-9a-f]{24}$"
MESSAGE_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 32

Outcome = Literal["delivered", "failed", "refused", "skipped"]
"""An attempt's outcome: a 2xx (``delivered``); a non-2xx, a timeout or a connection error
(``failed``); a destination refused by the safety rules after DNS resolution (``refused``,
counts as a failure); not attempted because the subscription is disabled (``skipped``)."""


class SubscriptionRequest(CamelModel):
    """``POST /webhooks``: where to deliver, and which event types."""

    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="https://...")
    event_types: list[str] = Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="Event types to deliver (`OrderConfirmed`, ...); see the README",
    )


class Subscription(CamelModel):
    """A subscription as stored (metadata only: its secret is in Secrets Manager)."""

    id: str
    client: str
    url: str
    event_types: list[str]
    enabled: bool = True
    created_at: datetime
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    secret_version: int = 1

    def view(self) -> "SubscriptionView":
        return SubscriptionView.model_validate(self.model_dump())


class SubscriptionView(CamelModel):
    """A subscription as the API shows it (never its secret, except once: ``CreatedWebhook``)."""

    id: str
    url: str
    event_types: list[str]
    enabled: bool
    created_at: datetime
    consecutive_failures: int = 0
    disabled_reason: str | None = None


class CreatedWebhook(SubscriptionView):
    """``POST /webhooks``' answer: the subscription and its signing secret, shown this once."""

    secret: str = Field(description="`whsec_...`: verify deliveries with it; shown only once")


class WebhookList(CamelModel):
    items: list[SubscriptionView]


class RotatedSecret(CamelModel):
    """``POST /webhooks/{id}/rotate-secret``: the new secret, shown once. The previous one
    keeps signing (next to the new one) until ``previousValidUntil``."""

    id: str
    secret: str
    previous_valid_until: datetime


class SigningSecret(BaseModel):
    """The value of a subscription's secret in Secrets Manager (JSON)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    current: str
    previous: str | None = None
    previous_until: datetime | None = Field(default=None, alias="previousUntil")
    version: int = 1

    def to_secret_string(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class DeliveryMessage(CamelModel):
    """A message of the delivery queue: one event for one subscription, one attempt."""

    message_id: str = Field(pattern=MESSAGE_ID_PATTERN)
    subscription_id: str = Field(pattern=SUBSCRIPTION_ID_PATTERN)
    client: str = Field(min_length=1, max_length=128)
    event: dict[str, Any]
    event_type: str
    attempt: int = Field(default=1, ge=1)
    not_before: float | None = None
    """Epoch seconds: a retry whose backoff is longer than SQS's longest delay (15 minutes)
    is sent again, delayed, until then."""
    last_error: str | None = None


class Attempt(CamelModel):
    """One delivery attempt, as the attempt log keeps it."""

    message_id: str
    subscription_id: str
    event_type: str
    attempt: int
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
    at: datetime


class AttemptList(CamelModel):
    items: list[Attempt]


class Redelivery(CamelModel):
    """``POST .../deliveries/{messageId}/redeliver``: the message is queued again (same
    ``webhook-id``)."""

    message_id: str
    status: Literal["queued"] = "queued"


class RetrySchedule(BaseModel):
    """When a failed delivery is tried again: retry ``n`` (1, 2, ...) waits a random time in
    ``[0, min(max_delay_seconds, base_seconds * factor ** (n - 1))]`` (exponential backoff,
    full jitter); after ``max_attempts`` attempts the message goes to the DLQ."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    base_seconds: float = Field(gt=0)
    factor: float = Field(ge=1)
    max_delay_seconds: float = Field(gt=0)
    max_attempts: int = Field(ge=1, le=100)


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"https": 443, "http": 80}
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Destination:
    """A URL that passed the rules: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    target: str
    """The path and query sent in the request line (``/`` at least)."""
    address: IPAddress | None
    """The host as an address when the URL names one (no DNS lookup then)."""

    @property
    def loopback_name(self) -> bool:
        return self.host in LOOPBACK_NAMES or self.host.endswith(".localhost")
