"""Sagas started straight from the bus, against any endpoint (issue 13: against the peer).

Each saga is an OrderPlaced `PutEvents` of `events/order-placed.json` with a fresh order id
(`tests.sample_events.fresh_entry`), carrying its payment token as an OrderPlaced sent from
outside may (RecordOrder stores it). Nothing goes through the API: MiniStack's API Gateway does
not put `apiKeyId` in the request context, so the stack's API refuses every request there.

The stack's resources come from its CloudFormation outputs (`BusName`, `OrdersTableName`,
`SagaStateMachineArn`, `SeedProductsFunctionName`), read with `DescribeStacks` on the endpoint,
so the same script runs on orderflow's emulator, on MiniStack or on AWS. Each run seeds a SKU of
its own (the seed function's Update, as a deployment does) with enough stock for every saga,
so each saga takes the happy path and earlier runs' stock does not matter.

Two modes, warm (after ``--warmup`` sagas one at a time):

- one at a time: N sagas in sequence; each is `PutEvents`, then the order's write model
  (`ORDER#<id>`/`ORDER`, one consistent GetItem per ``--poll`` seconds) until its status is
  terminal, then `DescribeExecution` of the execution the order records (`sagaExecution`) until
  it stopped. The latencies are taken from the emulator's own timestamps (same machine clock),
  so the poll interval does not add to them: put -> execution started (`startDate`), put ->
  order terminal (`updatedAt`, written with the status), put -> execution stopped (`stopDate`).
- N at once: N OrderPlaced events put together (PutEvents calls of 10 entries, sent at once),
  then the orders read in batches every ``--poll-batch`` seconds until all are terminal.
  Throughput = N / (last `stopDate` - first put); CPU per saga = the CPU of the emulator's
  process tree (``--pid``/``--pid-file``: LocalStack and its children, or MiniStack and its
  Lambda worker processes; `bench/cpu.py`) over the run, divided by N.

    .venvs/dev/bin/python -m bench.sagas --endpoint-url http://127.0.0.1:4566 \
        --pid-file .localstack/localstack.pid --one 20 --at-once 40
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.cpu import CpuMeter
from tests.sample_events import fresh_entry

STACK = "Orderflow"
TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})
STOPPED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
PUT_EVENTS_MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call
BATCH_GET_MAX_KEYS = 100  # BatchGetItem takes at most 100 keys per call
UNIT_PRICE = "12.50"


@dataclass(frozen=True)
class Stack:
    bus: str
    orders_table: str
    state_machine: str
    seed_function: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str]) -> Stack:
        needed = ("BusName", "OrdersTableName", "SagaStateMachineArn", "SeedProductsFunctionName")
        missing = [name for name in needed if name not in outputs]
        if missing:
            raise SystemExit(f"the stack has no output {', '.join(missing)}: is it deployed?")
        return cls(*(outputs[name] for name in needed))


@dataclass
class Saga:
    order_id: str
    entry: dict[str, Any]
    put_at: float = float("nan")  # wall clock (epoch s) just before PutEvents
    status: str = "PENDING"
    execution: str | None = None
    settled_at: float = float("nan")  # order's updatedAt (epoch s)
    started_at: float = float("nan")  # execution startDate
    stopped_at: float = float("nan")  # execution stopDate
    execution_status: str | None = None

    @property
    def to_start_s(self) -> float:
        return self.started_at - self.put_at

    @property
    def to_settled_s(self) -> float:
        return self.settled_at - self.put_at

    @property
    def to_stopped_s(self) -> float:
        return self.stopped_at - self.put_at


@dataclass
class Clients:
    endpoint: str | None
    region: str
    _made: dict[str, Any] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            make: Any = boto3.client  # any service by name
            self._made[service] = make(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                config=Config(
                    retries={"max_attempts": 2}, read_timeout=120, max_pool_connections=50
                ),
            )
        return self._made[service]


def stack_outputs(clients: Clients, stack: str) -> dict[str, str]:
    [described] = clients("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def seed_sku(clients: Clients, stack: Stack, available: int) -> str:
    """A SKU of this run's own, priced and stocked through the seed function's Update."""
    sku = f"SKU-BENCH-{uuid.uuid4().hex[:10].upper()}"
    product = {"sku": sku, "name": "Saga benchmark product", "price": UNIT_PRICE}
    request = {
        "RequestType": "Update",
        "PhysicalResourceId": "products-seed-bench",
        "ResourceProperties": {"Products": [{**product, "available": str(available)}]},
    }
    answer = clients("lambda").invoke(
        FunctionName=stack.seed_function, Payload=json.dumps(request).encode()
    )
    payload = answer["Payload"].read()
    if "FunctionError" in answer:
        raise SystemExit(f"seeding {sku} failed: {payload!r}")
    return sku


def new_saga(bus: str, sku: str) -> Saga:
    """An OrderPlaced entry for one unit of ``sku`` with a fresh order id, on ``bus``."""
    entry = fresh_entry("order-placed")
    detail = json.loads(entry["Detail"])
    detail["data"]["items"] = [{"sku": sku, "quantity": 1, "unitPrice": UNIT_PRICE}]
    detail["data"]["total"] = UNIT_PRICE
    return Saga(detail["subject"], {**entry, "EventBusName": bus, "Detail": json.dumps(detail)})


def batches[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    if size < 1:
        raise ValueError("size must be at least 1")
    return [items[start : start + size] for start in range(0, len(items), size)]


def put(clients: Clients, sagas: Sequence[Saga]) -> None:
    """One PutEvents call for up to 10 sagas; refuses to go on if an entry failed."""
    now = time.time()
    for saga in sagas:
        saga.put_at = now
    answer = clients("events").put_events(Entries=[saga.entry for saga in sagas])
    if answer.get("FailedEntryCount"):
        raise SystemExit(f"PutEvents refused entries: {answer['Entries']}")


def epoch(value: Any) -> float:
    """A timestamp from boto3 (datetime) or from an item (ISO 8601 string) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def apply_order_item(saga: Saga, item: Mapping[str, Any]) -> None:
    """Takes status, updatedAt and sagaExecution from the order's write model item."""
    saga.status = item.get("status", {}).get("S", saga.status)
    if "sagaExecution" in item:
        saga.execution = item["sagaExecution"]["S"]
    if saga.status in TERMINAL and "updatedAt" in item:
        saga.settled_at = epoch(item["updatedAt"]["S"])


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


PROJECTION = {
    "ProjectionExpression": "pk, #s, updatedAt, sagaExecution",
    "ExpressionAttributeNames": {"#s": "status"},
}


def wait(probe: Callable[[], bool], timeout_s: float, every_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done within {timeout_s:.0f} s")
        time.sleep(every_s)


def settle_one(clients: Clients, stack: Stack, saga: Saga, poll_s: float, timeout_s: float) -> None:
    dynamodb = clients("dynamodb")

    def terminal() -> bool:
        item = dynamodb.get_item(
            TableName=stack.orders_table,
            Key=order_key(saga.order_id),
            ConsistentRead=True,
            **PROJECTION,
        ).get("Item")
        if item:
            apply_order_item(saga, item)
        return saga.status in TERMINAL

    wait(terminal, timeout_s, poll_s, f"order {saga.order_id}")
    stopped(clients, [saga], poll_s, timeout_s)


def stopped(clients: Clients, sagas: Sequence[Saga], poll_s: float, timeout_s: float) -> None:
    """Reads each saga's execution until it stopped: startDate, stopDate, status."""
    sfn = clients("stepfunctions")
    for saga in sagas:
        if saga.execution is None:
            raise SystemExit(f"order {saga.order_id} records no saga execution")

        def done(saga: Saga = saga) -> bool:
            described = sfn.describe_execution(executionArn=saga.execution)
            saga.execution_status = described["status"]
            saga.started_at = epoch(described["startDate"])
            if described["status"] in STOPPED:
                saga.stopped_at = epoch(described["stopDate"])
                return True
            return False

        wait(done, timeout_s, poll_s, f"execution of {saga.order_id}")


def settle_all(
    clients: Clients, stack: Stack, sagas: Sequence[Saga], poll_s: float, timeout_s: float
) -> None:
    dynamodb = clients("dynamodb")
    by_key = {f"ORDER#{saga.order_id}": saga for saga in sagas}

    def all_terminal() -> bool:
        pending = [saga for saga in sagas if saga.status not in TERMINAL]
        for chunk in batches(pending, BATCH_GET_MAX_KEYS):
            keys = [order_key(saga.order_id) for saga in chunk]
            request = {stack.orders_table: {"Keys": keys, "ConsistentRead": True, **PROJECTION}}
            while request:
                answer = dynamodb.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(stack.orders_table, []):
                    apply_order_item(by_key[item["pk"]["S"]], item)
                request = answer.get("UnprocessedKeys") or {}
        return all(saga.status in TERMINAL for saga in sagas)

    wait(all_terminal, timeout_s, poll_s, f"{len(sagas)} sagas")


@dataclass(frozen=True)
class Burst:
    sagas: int
    wall_s: float  # first put -> last execution stopped
    cpu_s: float
    cpu_by_group: dict[str, float]
    statuses: dict[str, int]

    @property
    def per_s(self) -> float:
        return self.sagas / self.wall_s

    @property
    def cpu_ms_per_saga(self) -> float:
        return self.cpu_s * 1000 / self.sagas


def burst_span(sagas: Sequence[Saga]) -> float:
    """Seconds from the first put to the last execution's stop."""
    return max(saga.stopped_at for saga in sagas) - min(saga.put_at for saga in sagas)


def count_statuses(sagas: Sequence[Saga]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for saga in sagas:
        key = f"{saga.status}/{saga.execution_status}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def one_at_a_time(
    clients: Clients, stack: Stack, sku: str, count: int, *, poll_s: float, timeout_s: float
) -> list[Saga]:
    done = []
    for _ in range(count):
        saga = new_saga(stack.bus, sku)
        put(clients, [saga])
        settle_one(clients, stack, saga, poll_s, timeout_s)
        done.append(saga)
    return done


def at_once(
    clients: Clients,
    stack: Stack,
    sku: str,
    count: int,
    *,
    meter: CpuMeter | None,
    poll_s: float,
    timeout_s: float,
) -> tuple[list[Saga], Burst]:
    sagas = [new_saga(stack.bus, sku) for _ in range(count)]
    chunks = batches(sagas, PUT_EVENTS_MAX_ENTRIES)
    clients("events")  # made before the threads share it
    if meter is not None:
        meter.start()
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        list(pool.map(lambda chunk: put(clients, chunk), chunks))
    settle_all(clients, stack, sagas, poll_s, timeout_s)
    used = meter.stop() if meter is not None else {}
    stopped(clients, sagas, poll_s, timeout_s)
    burst = Burst(count, burst_span(sagas), sum(used.values()), used, count_statuses(sagas))
    return sagas, burst


def latency_table(label: str, sagas: Sequence[Saga]) -> str:
    rows = [
        ("put-events -> execution started", [s.to_start_s for s in sagas]),
        ("put-events -> order terminal (updatedAt)", [s.to_settled_s for s in sagas]),
        ("put-events -> execution stopped", [s.to_stopped_s for s in sagas]),
    ]
    lines = [
        f"| {label}: one saga at a time | n | median (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, samples in rows:
        lines.append(
            f"| {name} | {len(samples)} | {statistics.median(samples):.3f} | "
            f"{min(samples):.3f} | {max(samples):.3f} |"
        )
    return "\n".join(lines)


def burst_table(label: str, bursts: Sequence[Burst]) -> str:
    lines = [
        f"| {label}: N at once | N | wall (s) | sagas/s | CPU (s) | CPU per saga (ms) | outcomes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for number, burst in enumerate(bursts, 1):
        outcomes = ", ".join(f"{key} {n}" for key, n in burst.statuses.items())
        lines.append(
            f"| round {number} | {burst.sagas} | {burst.wall_s:.2f} | {burst.per_s:.2f} | "
            f"{burst.cpu_s:.1f} | {burst.cpu_ms_per_saga:.0f} | {outcomes} |"
        )
    return "\n".join(lines)


def cpu_groups_table(bursts: Sequence[Burst]) -> str:
    groups = sorted({group for burst in bursts for group in burst.cpu_by_group})
    lines = ["| CPU per saga by process (ms) | " + " | ".join(groups) + " |"]
    lines.append("|---|" + "---:|" * len(groups))
    for number, burst in enumerate(bursts, 1):
        cells = [f"{burst.cpu_by_group.get(g, 0.0) * 1000 / burst.sagas:.0f}" for g in groups]
        lines.append(f"| round {number} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def history_gaps(
    put_at: float, started_at: float, events: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """Seconds between consecutive history events of one execution, summed by label (the state
    the pair belongs to, then the two event types), from the put to the execution's end: where
    one saga's time goes. The first two are the put to the execution's `startDate` (the rule's
    delivery and StartExecution) and from there to its first history event. Retries of a step
    add to its label."""
    gaps = {"rule: PutEvents -> StartExecution (startDate)": started_at - put_at}
    state, previous, at = "", "StartExecution (startDate)", started_at
    for event in events:
        kind = str(event["type"])
        details: Mapping[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        if kind.endswith("StateEntered"):
            state = str(details.get("name", ""))
        when = epoch(event["timestamp"])
        label = f"{state or 'rule'}: {previous} -> {kind}"
        gaps[label] = gaps.get(label, 0.0) + when - at
        previous, at = kind, when
    return gaps


@dataclass(frozen=True)
class Histories:
    gaps: list[dict[str, float]]  # per saga, history_gaps
    events: list[int]  # history events per execution
    transitions: list[int]  # states entered per execution (billed state transitions)


def timeline(clients: Clients, sagas: Sequence[Saga]) -> Histories:
    sfn = clients("stepfunctions")
    found = Histories([], [], [])
    for saga in sagas:
        assert saga.execution is not None
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=saga.execution)
        events = [event for page in pages for event in page["events"]]
        found.gaps.append(history_gaps(saga.put_at, saga.started_at, events))
        found.events.append(len(events))
        found.transitions.append(sum(str(e["type"]).endswith("StateEntered") for e in events))
    return found


def history_line(label: str, histories: Histories) -> str:
    return (
        f"{label}: history events per execution, median {statistics.median(histories.events):.0f}"
        f" (max {max(histories.events)}); states entered (billed transitions) per execution,"
        f" median {statistics.median(histories.transitions):.0f}"
    )


def timeline_table(label: str, per_saga: Sequence[Mapping[str, float]], top: int) -> str:
    """The median of each gap over the sagas, largest first, with its share of the median
    total (put -> execution ended)."""
    labels = list(dict.fromkeys(key for gaps in per_saga for key in gaps))
    medians = {key: statistics.median(g.get(key, 0.0) for g in per_saga) for key in labels}
    total = statistics.median(sum(g.values()) for g in per_saga)
    lines = [
        f"| {label}: one saga, where the time goes (median of {len(per_saga)}) | ms | share |",
        "|---|---:|---:|",
    ]
    for key in sorted(labels, key=lambda k: -medians[k])[:top]:
        lines.append(f"| {key} | {medians[key] * 1000:.1f} | {medians[key] / total:.0%} |")
    lines.append(f"| total, put-events -> execution ended | {total * 1000:.1f} | 100% |")
    return "\n".join(lines)


def root_pid(pid: int | None, pid_file: Path | None) -> int | None:
    if pid is not None:
        return pid
    if pid_file is None:
        return None
    if not pid_file.exists():
        raise SystemExit(f"{pid_file} does not exist: is the emulator started from here?")
    return int(pid_file.read_text().strip())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="the emulator (default: $AWS_ENDPOINT_URL; none: AWS itself)",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--stack", default=STACK, help="the CloudFormation stack's name")
    parser.add_argument("--label", default=None, help="name of the emulator in the tables")
    parser.add_argument("--warmup", type=int, default=3, help="sagas one at a time, unmeasured")
    parser.add_argument("--one", type=int, default=20, help="sagas one at a time")
    parser.add_argument("--at-once", type=int, default=40, help="sagas put together")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of --at-once")
    parser.add_argument("--poll", type=float, default=0.05, help="one at a time: poll (s)")
    parser.add_argument("--poll-batch", type=float, default=0.5, help="at once: poll (s)")
    parser.add_argument(
        "--timeline", type=int, default=12, help="largest gaps of one saga to show (0: none)"
    )
    parser.add_argument("--timeout", type=float, default=600, help="per saga or round (s)")
    cpu = parser.add_mutually_exclusive_group()
    cpu.add_argument("--pid", type=int, help="root process of the emulator, for its CPU")
    cpu.add_argument(
        "--pid-file", type=Path, help="file holding that pid (.localstack/localstack.pid)"
    )
    args = parser.parse_args(argv)
    for name in ("warmup", "one", "at_once", "rounds"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.poll <= 0 or args.poll_batch <= 0 or args.timeout <= 0:
        parser.error("--poll, --poll-batch and --timeout must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    clients = Clients(args.endpoint_url, args.region)
    stack = Stack.from_outputs(stack_outputs(clients, args.stack))
    label = args.label or (args.endpoint_url or "AWS")
    pid = root_pid(args.pid, args.pid_file)
    meter = CpuMeter(root_pid=pid) if pid is not None else None
    total = args.warmup + args.one + args.at_once * args.rounds
    sku = seed_sku(clients, stack, available=total + 10)

    one_at_a_time(clients, stack, sku, args.warmup, poll_s=args.poll, timeout_s=args.timeout)
    if args.one:
        sagas = one_at_a_time(
            clients, stack, sku, args.one, poll_s=args.poll, timeout_s=args.timeout
        )
        print(latency_table(label, sagas), end="\n\n")
        if args.timeline:
            histories = timeline(clients, sagas)
            print(timeline_table(label, histories.gaps, args.timeline), end="\n\n")
            print(history_line(label, histories), end="\n\n")
    bursts = [
        at_once(
            clients,
            stack,
            sku,
            args.at_once,
            meter=meter,
            poll_s=args.poll_batch,
            timeout_s=args.timeout,
        )[1]
        for _ in range(args.rounds if args.at_once else 0)
    ]
    if bursts:
        print(burst_table(label, bursts), end="\n\n")
        if meter is not None:
            print(cpu_groups_table(bursts))


if __name__ == "__main__":
    main()
