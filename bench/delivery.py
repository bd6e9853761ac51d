"""One SQS message's way through an event source mapping: ``SendMessage`` on a queue -> its
mapping invokes a function -> the function sends the body on to a reply queue, which this
process long-polls. One message at a time, so the figure is the delivery latency of an idle
mapping (what the event-source pollers' idle waits trade against).

    .venvs/dev/bin/python -m bench.delivery --messages 30
"""

from __future__ import annotations

import argparse
import io
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from bench.stats import summary, table
from emulator.clients import client

HANDLER_FILE = Path(__file__).parent / "lambdas" / "relay.py"


def bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HANDLER_FILE, HANDLER_FILE.name)
    return buffer.getvalue()


def round_trip(sqs: Any, source: str, reply: str) -> float:
    body = uuid.uuid4().hex
    started = time.perf_counter()
    sqs.send_message(QueueUrl=source, MessageBody=body)
    while True:
        answer = sqs.receive_message(QueueUrl=reply, WaitTimeSeconds=20, MaxNumberOfMessages=1)
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=reply, ReceiptHandle=message["ReceiptHandle"])
            if message["Body"] == body:
                return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30, help="messages (default 30)")
    parser.add_argument("--pause", type=float, default=0.5, help="idle seconds between them")
    args = parser.parse_args()
    sqs, lam = client("sqs"), client("lambda")
    name = f"bench-delivery-{uuid.uuid4().hex[:8]}"
    source = sqs.create_queue(QueueName=name)["QueueUrl"]
    reply = sqs.create_queue(QueueName=f"{name}-reply")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="relay.handler",
        Code={"ZipFile": bundle()},
        Timeout=10,
        Environment={"Variables": {"REPLY_QUEUE": reply}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)
    try:
        round_trip(sqs, source, reply)  # the first one pays the cold start
        samples = []
        for _ in range(args.messages):
            time.sleep(args.pause)  # the mapping goes idle in between
            samples.append(round_trip(sqs, source, reply))
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_function(FunctionName=name)
        for url in (source, reply):
            sqs.delete_queue(QueueUrl=url)
    print(table([("SendMessage -> handler -> reply received", summary(samples))]))


if __name__ == "__main__":
    main()
