"""SQS records and SNS envelopes as Lambda receives them."""

import json
import uuid
from typing import Any

from tests.unit.domain_common.fixtures import REGION


def sqs_record(body: Any, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB-receipt",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1736937000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1736937000001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:orderflow-queue",
        "awsRegion": REGION,
    }


def sns_envelope(message: Any) -> dict[str, Any]:
    """What SNS puts in an SQS body when raw message delivery is off."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:{REGION}:123456789012:orderflow-order-outcomes",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2025-01-15T10:30:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://example.invalid/cert.pem",
        "UnsubscribeURL": "https://example.invalid/unsubscribe",
    }
