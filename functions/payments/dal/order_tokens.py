"""The one thing payments reads from the orders store: an order's payment token.

Events and the saga state do not carry the token (data minimisation); orders keeps it in the
order's ``PAYMENT_TOKEN`` item (``orders.dal.repository.payment_token_key``: the same key,
written here again so that payments' functions are not bundled with orders' code;
tests/unit/payments/test_payments_confirmation.py reads what orders writes). AuthorizePayment
is granted ``dynamodb:GetItem`` on the orders table and nothing else there.
"""

from typing import TYPE_CHECKING

from shared_kernel import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


PAYMENT_TOKEN_SK = "PAYMENT_TOKEN"
PAYMENT_TOKEN_ATTRIBUTE = "paymentToken"


def payment_token_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": PAYMENT_TOKEN_SK}


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
