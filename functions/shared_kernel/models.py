"""Types and base models every service shares: identifiers, money, saga-step input, order lines.

Identifiers that enter the system (from API bodies, headers or events on the bus) are
constrained to printable ASCII of bounded length, so a control character, a lone surrogate or
an emoji is refused at the edge with the field's name, never stored or passed on:

| type          | pattern                              | examples                   |
|---------------|--------------------------------------|----------------------------|
| `Identifier`  | `[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}` | `customer-42`, `a.b@c.io`  |
| `OrderId`     | `[A-Za-z0-9][A-Za-z0-9-]{0,63}`       | a uuid                     |
| `Sku`         | `[A-Z0-9][A-Z0-9-]{0,63}`             | `SKU-MUG-001`              |
| `Token`       | printable ASCII, no space, 1..128     | `tok_ok`, a correlation id |

Money is a `Decimal` with at most two places, always written with exactly two (`"15.00"`,
`"12.50"`) wherever it leaves a model as JSON: API bodies, events, step outputs.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$"
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,63}$"
TOKEN_PATTERN = r"^[\x21-\x7e]{1,128}$"

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
"""A customer's (or any other party's) id."""
OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
Sku = Annotated[str, Field(pattern=SKU_PATTERN)]
Token = Annotated[str, Field(pattern=TOKEN_PATTERN)]
"""Opaque printable tokens: payment tokens, event ids, correlation and causation ids."""

CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    """The same amount with exactly two places (`15` -> `15.00`); the field's `decimal_places`
    already refused a third."""
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    AfterValidator(_cents),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
]
"""An amount in the shop's currency: two decimal places, `"12.50"` on the wire."""


def money(value: Decimal | int | str) -> Decimal:
    """`value` as Money (two places); raises ValueError for a third decimal place."""
    amount = Decimal(value)
    if amount != amount.quantize(CENT):
        raise ValueError(f"{value} has more than two decimal places")
    return amount.quantize(CENT)


class CamelModel(BaseModel):
    """camelCase on the wire (`orderId`), snake_case in Python; unknown keys ignored so a
    state machine may pass its whole state to a step."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict:
        """JSON-native dict with camelCase keys (Money becomes `"12.50"`)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class StepInput(CamelModel):
    """What every saga step receives: the order, and the ids that thread the flow's events."""

    order_id: OrderId
    correlation_id: Token
    causation_id: Token | None = None


class OrderLine(CamelModel):
    sku: Sku
    quantity: int = Field(gt=0, le=1000)
