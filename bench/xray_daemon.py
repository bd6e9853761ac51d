"""CPU cost of the emulator's X-Ray daemon (emulator/hostexec/orderflow_hostexec/xray/): what
receiving and storing one segment document costs, and reading a trace back.

Measured in this process, on the kit's own code (no emulator needed): the documents are the
shapes the X-Ray SDK sends from a Lambda function (a DynamoDB call's subsegment, streamed
alone) and what the kit records for an invocation (the function segment).

- ``store``: ``TraceStore.receive`` per datagram (header line, JSON, validation, storing);
- ``udp``: the same through the daemon's socket (send + receive + store, one process: the
  sender's share is measured alone and subtracted);
- ``read``: ``BatchGetTraces``' assembly of one trace of ``--entities`` entities (nesting
  and JSON).

    .venvs/dev/bin/python -m bench.xray_daemon --documents 20000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator" / "hostexec"))

from orderflow_hostexec.xray.daemon import Daemon
from orderflow_hostexec.xray.store import TraceStore

HEADER = b'{"format": "json", "version": 1}\n'


def subsegment(trace_id: str, parent: str, n: int) -> bytes:
    """A DynamoDB call's subsegment as the X-Ray SDK streams it in Lambda (~700 bytes)."""
    start = time.time()
    document = {
        "id": f"{n:016x}",
        "name": "dynamodb",
        "start_time": start,
        "end_time": start + 0.004,
        "type": "subsegment",
        "parent_id": parent,
        "trace_id": trace_id,
        "namespace": "aws",
        "http": {"response": {"status": 200, "content_length": 2}},
        "aws": {
            "operation": "PutItem",
            "region": "us-east-1",
            "request_id": "8J2N0C7C6F7N3Q9D7M0S9K8V2JVV4KQNSO5AEMVJF66Q9ASUAAJG",
            "retries": 0,
            "table_name": "Orderflow-FulfilmentOrdersTable8D0-2ad60369",
        },
        "metadata": {"orders": {"PutItem response": {"ConsumedCapacity": None}}},
    }
    return HEADER + json.dumps(document).encode()


def trace_ids(count: int) -> list[str]:
    epoch = int(time.time())
    return [f"1-{epoch:08x}-{os.urandom(12).hex()}" for _ in range(count)]


def per_document_store(documents: int) -> float:
    store = TraceStore(max_traces=2_000)
    ids = trace_ids(documents // 40 + 1)
    datagrams = [subsegment(ids[n // 40], "a" * 16, n) for n in range(documents)]
    started = time.process_time()
    for data in datagrams:
        store.receive(data)
    spent = time.process_time() - started
    assert store.stats()["received"] == documents, store.stats()
    return spent / documents


def per_document_udp(documents: int) -> float:
    ids = trace_ids(documents // 40 + 1)
    datagrams = [subsegment(ids[n // 40], "a" * 16, n) for n in range(documents)]
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sink.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    started = time.process_time()
    for data in datagrams:  # the sender's share alone (the kernel drops what nobody reads)
        sender.sendto(data, sink.getsockname())
    sending = time.process_time() - started
    sink.close()

    store = TraceStore(max_traces=2_000)
    daemon = Daemon(store, port=0)
    host, port = daemon.start().split(":")
    started = time.process_time()
    for n, data in enumerate(datagrams):
        sender.sendto(data, (host, int(port)))
        if n % 200 == 199:  # let the daemon keep up (a UDP socket drops what overflows)
            while store.stats()["received"] < n - 100:
                time.sleep(0.0005)
    deadline = time.monotonic() + 30
    while store.stats()["received"] + store.stats()["rejected"] < documents:
        if time.monotonic() > deadline:
            break
        time.sleep(0.001)
    total = time.process_time() - started
    daemon.stop()
    received = store.stats()["received"]
    return (total - sending) / max(received, 1)


def per_trace_read(entities: int, reads: int) -> float:
    store = TraceStore(max_traces=10)
    [trace_id] = trace_ids(1)
    start = time.time()
    store.put(
        {
            "trace_id": trace_id,
            "id": "a" * 16,
            "name": "PlaceOrder",
            "origin": "AWS::Lambda::Function",
            "start_time": start,
            "end_time": start + 1,
        }
    )
    for n in range(1, entities):
        store.receive(subsegment(trace_id, "a" * 16, n))
    started = time.process_time()
    for _ in range(reads):
        trace = store.get(trace_id)
        assert trace is not None
        [json.dumps(document) for document in trace.documents()]
    return (time.process_time() - started) / reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--entities", type=int, default=60, help="entities in the read trace")
    args = parser.parse_args()
    store = per_document_store(args.documents)
    udp = per_document_udp(args.documents)
    read = per_trace_read(args.entities, 200)
    print("| what | CPU |")
    print("|---|---|")
    print(f"| parse, validate, store one document (`TraceStore.receive`) | {store * 1e6:.1f} µs |")
    print(f"| the same through the daemon's UDP socket | {udp * 1e6:.1f} µs |")
    read_what = f"BatchGetTraces assembly, one trace of {args.entities} entities"
    print(f"| {read_what} | {read * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
