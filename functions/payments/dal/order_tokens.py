"""The one thing payments reads from the orders store: an order's payment token.

Events and the saga state do not carry the token (data minimisation); orders keeps it in the
order's ``PAYMENT_TOKEN`` item, whose key orders' dal defines. AuthorizePayment is granted
``dynamodb:GetItem`` on the orders table and nothing else there.
"""

from typing import TYPE_CHECKING

from orders.dal.repository import PAYMENT_TOKEN_ATTRIBUTE, payment_token_key
from shared_kernel import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


class OrderPaymentTokens:
    def __init__(self, table_name: str, dynamodb: "DynamoDBServiceResource | None" = None) -> None:
        self._table = (dynamodb or aws.dynamodb()).Table(table_name)

    def payment_token(self, order_id: str) -> str | None:
        item = self._table.get_item(
            Key=payment_token_key(order_id),
            ProjectionExpression=PAYMENT_TOKEN_ATTRIBUTE,
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item[PAYMENT_TOKEN_ATTRIBUTE])
