"""Base models shared by the services' saga-step inputs and API bodies."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """camelCase on the wire (`orderId`), snake_case in Python; unknown keys ignored so a
    state machine may pass its whole state to a step."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict:
        """JSON-native dict with camelCase keys (Decimals become strings)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class StepInput(CamelModel):
    """What every saga step receives: the order, and the ids that thread the flow's events."""

    order_id: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1)
    causation_id: str | None = None


class OrderLine(CamelModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1000)
