"""Lambda events as AWS delivers them, built from the samples in ``events/``, and a context.

The samples are what a person sends (a ``put-events`` entry, an SQS message body, an HTTP
body); these builders wrap them the way API Gateway, EventBridge and SQS hand them to Lambda.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def load_sample(name: str) -> Any:
    """The JSON sample ``events/<name>``, e.g. ``load_sample("skeleton/ping_sent.json")``."""
    return json.loads((EVENTS_DIR / name).read_text())


def sample_text(name: str) -> str:
    """The raw text of ``events/<name>`` (an SQS message body is sent as text)."""
    return (EVENTS_DIR / name).read_text()


def api_gateway_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy integration event, stage ``prod``."""
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "skeletonapi",
            "httpMethod": method,
            "path": f"/prod{path}",
            "requestId": str(uuid.uuid4()),
            "resourcePath": resource or path,
            "stage": "prod",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def eventbridge_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The event a rule target receives for one ``put-events`` entry."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": "2025-01-01T12:00:00Z",
        "region": REGION,
        "resources": entry.get("Resources", []),
        "detail": json.loads(entry["Detail"]),
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS event source mapping batch with one record per message body."""
    return {"Records": [_sqs_record(body) for body in bodies]}


def _sqs_record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "receipt-handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1735732800000",
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": "1735732800001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:work",
        "awsRegion": REGION,
    }


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "unit-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:unit-test"
    aws_request_id: str = "11111111-2222-4333-8444-555555555555"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
