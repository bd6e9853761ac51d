"""The batch limits docs/scaling.md relies on, checked against botocore's service models and
against an emulator (any endpoint): for each, the model's bound where it has one, and whether
the emulator takes a call at the limit and refuses one past it (and with which error).

Uses a table (with a stream) and a queue of its own, deleted at the end; nothing of the
deployed stack is touched.

    .venvs/dev/bin/python -m bench.limits --endpoint-url http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from bench.sagas import Clients


@dataclass(frozen=True)
class Limit:
    name: str
    aws: str  # the figure AWS documents
    service: str
    operation: str
    member: str  # the request member the model bounds ("*": a map's values; "": none)
    at_limit: int


LIMITS = [
    Limit("PutEvents entries per call", "10", "events", "PutEvents", "Entries", 10),
    Limit("PutEvents entries' total size (bytes)", "256 KB", "events", "PutEvents", "", 262144),
    Limit("SQS SendMessageBatch entries", "10", "sqs", "SendMessageBatch", "Entries", 10),
    Limit(
        "SQS ReceiveMessage messages", "1-10", "sqs", "ReceiveMessage", "MaxNumberOfMessages", 10
    ),
    Limit(
        "TransactWriteItems items", "100", "dynamodb", "TransactWriteItems", "TransactItems", 100
    ),
    Limit("BatchGetItem keys", "100", "dynamodb", "BatchGetItem", "RequestItems.*.Keys", 100),
    Limit("BatchWriteItem requests", "25", "dynamodb", "BatchWriteItem", "RequestItems.*", 25),
    Limit("GetRecords records per call", "1000", "dynamodbstreams", "GetRecords", "Limit", 1000),
]


def model_bound(service: str, operation: str, member: str) -> str:
    """The bound botocore's model puts on a request member (min-max of a list's length or of
    an integer), or '-' where the model states none."""
    if not member:
        return "-"
    model = botocore.session.get_session().get_service_model(service)
    shape: Any = model.operation_model(operation).input_shape
    for step in member.split("."):
        shape = shape.value if step == "*" else shape.members[step]
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is None and high is None:
        return "-"
    return f"{low if low is not None else ''}-{high if high is not None else ''}"


def outcome(call: Callable[[], Any]) -> str:
    """'taken', or 'refused (code)' for an error or for entries the answer reports as failed
    (PutEvents' FailedEntryCount, SendMessageBatch's Failed)."""
    try:
        answer = call()
    except ClientError as error:
        return f"refused ({error.response['Error']['Code']})"
    failed = [e for e in answer.get("Entries", []) if e.get("ErrorCode")] + answer.get("Failed", [])
    if failed:
        return f"refused (entry: {failed[0].get('ErrorCode') or failed[0].get('Code')})"
    return "taken"


@dataclass
class Scratch:
    """A table with a stream and a queue, made for the checks and deleted after."""

    clients: Clients
    table: str = ""
    queue_url: str = ""
    stream_arn: str = ""
    bus: str = "default"

    def __enter__(self) -> Scratch:
        suffix = uuid.uuid4().hex[:8]
        dynamodb = self.clients("dynamodb")
        self.table = f"bench-limits-{suffix}"
        answer = dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
        self.stream_arn = answer["TableDescription"]["LatestStreamArn"]
        dynamodb.get_waiter("table_exists").wait(TableName=self.table)
        self.queue_url = self.clients("sqs").create_queue(QueueName=f"bench-limits-{suffix}")[
            "QueueUrl"
        ]
        return self

    def __exit__(self, *_: object) -> None:
        self.clients("dynamodb").delete_table(TableName=self.table)
        self.clients("sqs").delete_queue(QueueUrl=self.queue_url)

    def iterator(self) -> str:
        streams = self.clients("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        iterator: str = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return iterator


SOURCE, DETAIL_TYPE = "bench.limits", "Check"


def sized_entry(size: int) -> dict[str, str]:
    """A PutEvents entry of ``size`` bytes as EventBridge counts them (Source, DetailType and
    Detail in UTF-8; no Time, Resources or trace header)."""
    padding = size - len(SOURCE) - len(DETAIL_TYPE) - len('{"x":""}')
    if padding < 0:
        raise ValueError(f"an entry takes at least {size - padding} bytes")
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps({"x": "a" * padding}, separators=(",", ":")),
    }


def calls(scratch: Scratch, limit: Limit) -> Callable[[int], Callable[[], Any]]:
    """For a limit, the call with ``n`` entries (keys, items, records)."""
    c, table = scratch.clients, scratch.table
    key = lambda i: {"pk": {"S": f"k{i}"}}  # noqa: E731
    made: dict[str, Callable[[int], Callable[[], Any]]] = {
        "PutEvents": lambda n: (
            lambda: c("events").put_events(
                Entries=[
                    {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": "{}"} for _ in range(n)
                ]
            )
        ),
        "PutEvents#size": lambda n: lambda: c("events").put_events(Entries=[sized_entry(n)]),
        "SendMessageBatch": lambda n: (
            lambda: c("sqs").send_message_batch(
                QueueUrl=scratch.queue_url,
                Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(n)],
            )
        ),
        "ReceiveMessage": lambda n: (
            lambda: c("sqs").receive_message(
                QueueUrl=scratch.queue_url, MaxNumberOfMessages=n, WaitTimeSeconds=0
            )
        ),
        "TransactWriteItems": lambda n: (
            lambda: c("dynamodb").transact_write_items(
                TransactItems=[{"Put": {"TableName": table, "Item": key(i)}} for i in range(n)]
            )
        ),
        "BatchGetItem": lambda n: (
            lambda: c("dynamodb").batch_get_item(
                RequestItems={table: {"Keys": [key(i) for i in range(n)]}}
            )
        ),
        "BatchWriteItem": lambda n: (
            lambda: c("dynamodb").batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": key(i)}} for i in range(n)]}
            )
        ),
        "GetRecords": lambda n: (
            lambda: c("dynamodbstreams").get_records(ShardIterator=scratch.iterator(), Limit=n)
        ),
    }
    return made[f"{limit.operation}#size" if limit.name.endswith("(bytes)") else limit.operation]


def check(clients: Clients, limits: Sequence[Limit]) -> list[tuple[Limit, str, str, str]]:
    rows = []
    with Scratch(clients) as scratch:
        for limit in limits:
            call = calls(scratch, limit)
            rows.append(
                (
                    limit,
                    model_bound(limit.service, limit.operation, limit.member),
                    outcome(call(limit.at_limit)),
                    outcome(call(limit.at_limit + 1)),
                )
            )
    return rows


def table(label: str, rows: Sequence[tuple[Limit, str, str, str]]) -> str:
    lines = [
        f"| limit | AWS | botocore model | {label}: at the limit | {label}: one past it |",
        "|---|---:|---:|---|---|",
    ]
    for limit, bound, at, past in rows:
        lines.append(f"| {limit.name} | {limit.aws} | {bound} | {at} | {past} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--label", default="emulator")
    parser.add_argument("--json", action="store_true", help="rows as JSON instead")
    args = parser.parse_args(argv)
    rows = check(Clients(args.endpoint_url, args.region), LIMITS)
    if args.json:
        print(json.dumps([[limit.name, *rest] for limit, *rest in rows]))
    else:
        print(table(args.label, rows))


if __name__ == "__main__":
    main()
