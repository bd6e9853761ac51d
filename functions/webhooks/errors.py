"""The webhooks service's errors: what the API answers 4xx for, each naming its field."""


class WebhookError(Exception):
    """A request the API refuses; ``field`` and ``problem`` go into the 4xx body."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnsafeDestination(WebhookError):
    """The URL (or an address it resolves to) is not one orderflow delivers to."""

    def __init__(self, problem: str) -> None:
        super().__init__("url", problem)


class UnknownEventTypes(WebhookError):
    """``eventTypes`` names types no service publishes."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__("eventTypes", f"unknown event types: {', '.join(unknown)}")
        self.unknown = unknown


class SubscriptionNotFound(WebhookError):
    """No subscription of that id belongs to the caller (another client's is not found
    either: no enumeration)."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__("id", f"webhook {subscription_id} not found")


class MessageNotFound(WebhookError):
    """No delivery of that message id was made to the subscription."""

    def __init__(self, message_id: str) -> None:
        super().__init__("messageId", f"message {message_id} not found")
