"""A function the executor tests deploy as is: it reports what its sandbox looks like."""

import os
import sys
import time


def handler(event, context):
    print(f"probe invoked with {event}")
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(),
        "python": sys.version_info[:2],
        "env": {
            k: v for k, v in os.environ.items() if k.startswith(("AWS_", "_X_AMZN", "LAMBDA_"))
        },
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "importable": {
            name: _importable(name) for name in ("boto3", "localstack", "pytest", "moto")
        },
    }


def put_item(event, context):
    import boto3

    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=event["table"], Item={"pk": {"S": event["pk"]}})
    return {"endpoint": dynamodb.meta.endpoint_url, "pid": os.getpid()}


def explode(event, context):
    raise ValueError(f"exploded on purpose: {event.get('why', 'no reason')}")


def _importable(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def record_span(event, context):
    """An SQS consumer that works ``sleep`` seconds per batch and reports when it ran (its
    start and end, its process) to the ``results`` queue named in each message."""
    import json

    import boto3

    started = time.time()
    bodies = [json.loads(record["body"]) for record in event["Records"]]
    time.sleep(max(body.get("sleep", 0) for body in bodies))
    span = {"pid": os.getpid(), "start": started, "end": time.time(), "batch": len(bodies)}
    boto3.client("sqs").send_message(QueueUrl=bodies[0]["results"], MessageBody=json.dumps(span))
    return {"batchItemFailures": []}


def put_item_retrying(event, context):
    """Puts an item with a client making at most ``attempts`` attempts (botocore's default retry
    mode, as the stack's functions use it), then reads it back; reports what the SDK answered
    and how often it retried."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    config = Config(retries={"total_max_attempts": event["attempts"]})
    dynamodb = boto3.client("dynamodb", config=config)
    key = {"pk": {"S": event["pk"]}}
    try:
        retried = dynamodb.put_item(TableName=event["table"], Item=key)["ResponseMetadata"]
        outcome: dict[str, object] = {"error": None, "retries": retried["RetryAttempts"]}
    except ClientError as exc:
        failed = exc.response["ResponseMetadata"]
        outcome = {"error": exc.response["Error"]["Code"], "retries": failed["RetryAttempts"]}
    found = "Item" in dynamodb.get_item(TableName=event["table"], Key=key, ConsistentRead=True)
    return outcome | {"found": found}


def put_events(event, context):
    """Puts ``count`` events on ``bus`` in one PutEvents call; returns its answer."""
    import json

    import boto3

    answer = boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": event["bus"],
                "Source": event["source"],
                "DetailType": "probe",
                "Detail": json.dumps({"n": n}),
            }
            for n in range(event["count"])
        ]
    )
    return {"FailedEntryCount": answer["FailedEntryCount"], "Entries": answer["Entries"]}
