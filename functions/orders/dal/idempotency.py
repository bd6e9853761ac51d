"""Where POST /orders remembers Idempotency-Keys: Powertools' DynamoDB persistence layer.

Table ``IDEMPOTENCY_TABLE``: key ``id`` (S), TTL attribute ``expiration``; items are written and
read by Powertools only (``status`` INPROGRESS/COMPLETED, ``data`` = the first response,
``validation`` = a hash of the first request body).
"""

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from shared_kernel import aws


def idempotency_store(table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.dynamodb_client())
