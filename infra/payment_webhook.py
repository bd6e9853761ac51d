"""The incoming payment webhook's settings (``DeploymentConfig.payment_webhook``): how fresh a
provider's delivery must be, and how long the sandbox provider takes to confirm.

Context ``orderflow:paymentWebhook`` (or ``ORDERFLOW_PAYMENT_WEBHOOK``), a JSON object with
snake_case keys, e.g. ``-c orderflow:paymentWebhook='{"tolerance_seconds": 60}'``.

- ``tolerance_seconds`` (300, every stage): how far a delivery's ``webhook-timestamp`` may be
  from the receiver's clock, either way. The Standard Webhooks recommendation, and the
  ``standardwebhooks`` library's fixed window, which the receiver checks too (so at most 300).
  The provider signs each attempt with its own timestamp, so the window covers transit and
  clock skew only, never the provider's retry schedule. A ``webhook-id`` is remembered for
  twice the tolerance plus a minute: a replay after that is refused by its timestamp.
- ``confirmation_delay_seconds``: how long the sandbox provider waits before it calls the
  webhook (the ``DelaySeconds`` of its SQS message). dev 3 (a developer with curl sees the
  order PENDING, then CONFIRMED a few seconds later); other stages 20 (a card network's
  asynchronous answer is seconds to minutes; well within ``payment_confirmation_seconds``).
"""

from typing import Any

from pydantic import Field

from infra.sections import ConfigSection

DEV_STAGE = "dev"
MAX_TOLERANCE_SECONDS = 300
"""The ``standardwebhooks`` library refuses timestamps more than five minutes off anyway."""


class PaymentWebhookConfig(ConfigSection):
    """The payment webhook's tolerance and the sandbox provider's delay (see the module doc)."""

    tolerance_seconds: int = Field(default=MAX_TOLERANCE_SECONDS, ge=1, le=MAX_TOLERANCE_SECONDS)
    """How far a delivery's timestamp may be from now, in the past or the future (seconds)."""

    confirmation_delay_seconds: int = Field(default=20, ge=0, le=900)
    """How long the sandbox provider waits before it confirms (SQS allows up to 900 s)."""

    @classmethod
    def stage_defaults(cls, stage: str) -> dict[str, Any]:
        return {"confirmation_delay_seconds": 3} if stage == DEV_STAGE else {}
