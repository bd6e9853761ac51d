"""What the webhooks logic needs from the world, as Protocols (the dal implements them)."""

from collections.abc import Mapping
from typing import Protocol

from webhooks.models import (
    Attempt,
    DeliveryMessage,
    Destination,
    IPAddress,
    SigningSecret,
    Subscription,
)


class SubscriptionStore(Protocol):
    def put(self, subscription: Subscription) -> None: ...

    def get(self, client: str, subscription_id: str) -> Subscription | None: ...

    def of_client(self, client: str) -> list[Subscription]: ...

    def delete(self, client: str, subscription_id: str) -> bool: ...

    def set_enabled(self, client: str, subscription_id: str, enabled: bool) -> None: ...

    def set_secret_version(self, client: str, subscription_id: str, version: int) -> None: ...

    def record_success(self, client: str, subscription_id: str) -> None: ...

    def record_failure(
        self, client: str, subscription_id: str, *, disable_after: int, reason: str
    ) -> bool:
        """Count one more consecutive failure; disable the subscription when the count
        reaches ``disable_after``. True when this call disabled it."""
        ...


class SubscriptionsView(Protocol):
    def all(self) -> list[Subscription]:
        """Every subscription, as stored now."""
        ...


class RuleSwitch(Protocol):
    """The bus rule that feeds the fan-out."""

    def enable(self) -> None: ...

    def disable(self) -> None: ...


class SecretStore(Protocol):
    def create(self, subscription_id: str, secret: SigningSecret) -> None: ...

    def read(self, subscription_id: str) -> SigningSecret:
        """The stored value, uncached (to rotate it)."""
        ...

    def write(self, subscription_id: str, secret: SigningSecret) -> None: ...

    def delete(self, subscription_id: str) -> None: ...

    def for_signing(self, subscription_id: str, min_version: int) -> SigningSecret:
        """The value (cached), read again when the cached one is older than ``min_version``."""
        ...


class AttemptLog(Protocol):
    def record(self, attempt: Attempt) -> None: ...

    def remember(self, message: DeliveryMessage, status: str) -> None:
        """Keep the message (for a redelivery) with its latest status."""
        ...

    def message(self, subscription_id: str, message_id: str) -> DeliveryMessage | None: ...

    def attempts(self, subscription_id: str, limit: int) -> list[Attempt]: ...


class DeliveryQueue(Protocol):
    def send(self, message: DeliveryMessage, delay_seconds: int = 0) -> None: ...

    def send_all(self, messages: list[DeliveryMessage]) -> None: ...

    def dead_letter(self, message: DeliveryMessage, reason: str) -> None: ...


class Transport(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``host`` resolves to (``OSError`` when it does not)."""
        ...

    def post(
        self,
        destination: Destination,
        address: IPAddress,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,
    ) -> int:
        """POST to ``address`` (the one checked), asking for ``destination``'s host (TLS SNI
        and certificate, ``Host``); returns the status code. ``OSError`` (``TimeoutError``
        included) when no answer came."""
        ...
