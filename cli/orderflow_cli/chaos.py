"""``orderflow chaos run <file>``: start an AWS FIS experiment, offer orders while its faults
run, let the system settle, then check from its own stores that nothing was lost or doubled.

The run, in order:

1. read the stock (products table) and the orders still pending (orders table): the baseline;
2. a short batch of orders before any fault (10% of ``--orders``, 5 to 20) at ``--rate``: the
   ``POST /orders`` latency without faults (its first order warms the functions up: it is
   placed and checked like the others, its latency is not counted);
3. the experiment: on AWS, the template the stack deployed for this file when the output
   ``ChaosExperimentTemplates`` (JSON ``{file stem: template id}``) names one; otherwise the
   file is created as a template through the FIS API (``fis`` client: ``AWS_ENDPOINT_URL``,
   i.e. the emulator's FIS offline), tagged ``orderflow:seed`` = ``--seed``, before step 1 (a
   template FIS refuses stops the run before any order); started after step 2;
4. the remaining orders at ``--rate``, open loop, whatever the faults do to the answers;
5. the faults end when the experiment's longest action is over (FIS ends the experiment); if
   the orders take longer, they go on after it (reported as ``after``); if they take less, the
   runner waits for the experiment to end, and stops it if it outlives its duration by
   ``STOP_GRACE_S``;
6. settle (bounded by ``--settle``): the reconciler is invoked every ``SETTLE_EVERY_S`` (its
   grace period still applies: it repairs what is older than that), until every order is
   terminal, every rule but the read model's holds and no work queue holds a message;
7. the invariants (``chaos_invariants``), the DLQs' messages with their reasons;
8. every DLQ with a source queue redriven (``orderflow redrive``'s code); settle again; the
   invariants again, and the DLQs must be empty. The verdict (exit status) is this second
   check: 0 only if every invariant holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from orderflow_cli import chaos_invariants as invariants
from orderflow_cli import chaos_load as load
from orderflow_cli import chaos_report as report
from orderflow_cli import chaos_stores as stores
from orderflow_cli import dead_letters
from orderflow_cli.chaos_experiment import SEED_TAG, Experiment, ExperimentFileError
from orderflow_cli.chaos_experiment import load as load_experiment
from orderflow_cli.chaos_report import Run
from orderflow_cli.stack import StackRef, console, fail, stack_of

TEMPLATES_OUTPUT = "ChaosExperimentTemplates"
FAULTS_PATH = "/_orderflow/fis/faults"
RUNNING_WITHIN_S = 30
STOP_GRACE_S = 30
SETTLE_EVERY_S = 5
SAMPLE_EVERY_S = 5
PEEK_LIMIT = 1000
ENDED = {"completed", "stopped", "failed", "cancelled"}
BEFORE_SHARE, BEFORE_MIN, BEFORE_MAX = 0.1, 5, 20


def before_batch(orders: int) -> int:
    return min(orders, max(BEFORE_MIN, min(BEFORE_MAX, round(orders * BEFORE_SHARE))))


# --- the experiment ---------------------------------------------------------------------------


def deployed_template(stack: StackRef, name: str) -> str | None:
    """The template the stack deployed for experiment ``name`` (on AWS), if any."""
    raw = stack.outputs.get(TEMPLATES_OUTPUT)
    if not raw:
        return None
    try:
        templates = json.loads(raw)
    except ValueError:
        fail(f"the stack output {TEMPLATES_OUTPUT} is not JSON: {raw[:80]}")
    found = templates.get(name) if isinstance(templates, dict) else None
    return str(found) if found else None


def create_template(stack: StackRef, run: Run) -> None:
    """The template to start: the stack's deployed one for this file (on AWS), else the file
    created through the FIS API. Done before any order is placed: a template FIS refuses
    stops the run before it changed anything."""
    deployed = None
    if not os.environ.get("AWS_ENDPOINT_URL"):
        deployed = deployed_template(stack, run.experiment.name)
    if deployed:
        run.template_id, run.template_source = deployed, "deployed"
        return
    template = run.experiment.with_seed(run.seed)
    template.setdefault("clientToken", uuid.uuid4().hex)
    try:
        created = stack.client("fis").create_experiment_template(**template)["experimentTemplate"]
    except ClientError as error:
        fail(f"FIS refused the experiment {run.experiment.name}: {error}", code=1)
    run.template_id, run.template_source = created["id"], "created"


def start_experiment(stack: StackRef, run: Run) -> None:
    try:
        started = stack.client("fis").start_experiment(
            clientToken=uuid.uuid4().hex,
            experimentTemplateId=run.template_id,
            tags={SEED_TAG: str(run.seed)},
        )["experiment"]
    except ClientError as error:
        fail(f"FIS did not start the experiment {run.experiment.name}: {error}", code=1)
    run.experiment_id = started["id"]
    deadline = time.monotonic() + RUNNING_WITHIN_S
    while _status(stack, run.experiment_id) not in {"running", *ENDED}:
        if time.monotonic() > deadline:
            fail(f"experiment {run.experiment_id} not running after {RUNNING_WITHIN_S} s", code=1)
        time.sleep(0.2)


def _status(stack: StackRef, experiment_id: str) -> str:
    experiment = stack.client("fis").get_experiment(id=experiment_id)["experiment"]
    return str(experiment["state"]["status"])


def end_experiment(stack: StackRef, run: Run, faults_end: float) -> None:
    """Wait for FIS to end the experiment (its longest action over); stop it if it outlives
    its duration by STOP_GRACE_S."""
    fis = stack.client("fis")
    while _status(stack, run.experiment_id) not in ENDED:
        if time.monotonic() > faults_end + STOP_GRACE_S:
            fis.stop_experiment(id=run.experiment_id)
            deadline = time.monotonic() + RUNNING_WITHIN_S
            while _status(stack, run.experiment_id) not in ENDED:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            break
        time.sleep(0.5)
    run.fis = fis.get_experiment(id=run.experiment_id)["experiment"]
    run.faults = injected_faults(run)


def injected_faults(run: Run) -> dict[str, int]:
    """Action name -> faults injected: offline, the kit's count (``GET
    /_orderflow/fis/faults``); else what GetExperiment's action states say."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    counted: dict[str, int] = {}
    if endpoint:
        try:
            with urllib.request.urlopen(
                f"{endpoint.rstrip('/')}{FAULTS_PATH}", timeout=10
            ) as answer:
                board = json.load(answer).get("experiments", {}).get(run.experiment_id, {})
            counted = {name: int(action.get("injected", 0)) for name, action in board.items()}
        except (OSError, ValueError):
            counted = {}
    for name, action in run.fis.get("actions", {}).items():
        if name not in counted:
            counted[name] = report.faults_in_reason(action.get("state", {}).get("reason", ""))
    return counted


# --- settling ---------------------------------------------------------------------------------


def invoke_reconciler(stack: StackRef, run: Run) -> None:
    name = stack.outputs.get("ReconcilerFunctionName")
    if not name:
        return
    try:
        answer = stack.client("lambda").invoke(FunctionName=name, Payload=b"{}")
        payload = json.loads(answer["Payload"].read() or b"null")
    except (ClientError, ValueError) as error:
        run.reconciler.append({"error": str(error)})
        return
    if isinstance(payload, dict):
        run.reconciler.append(payload)


def work_queues(stack: StackRef) -> list[str]:
    """The URLs of the queues a consumer works from: every source queue of a DLQ (the replay
    queue, drained by `orderflow replay` only, is not one)."""
    sqs = stack.client("sqs")
    replay = stack.outputs.get("ReplayQueueUrl")
    urls = []
    for arn in sorted(
        {s for d in dead_letters.find_dead_letter_queues(stack) for s in d.source_queues}
    ):
        url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        if url != replay:
            urls.append(url)
    return urls


def snapshot(stack: StackRef, run: Run, base: dict[str, Any], *, full: bool) -> invariants.Snapshot:
    """What the stores say now about the run's orders; ``full`` adds the history reads (one
    query per order) and the outbox scan."""
    ids = run.placed
    run.orders = stores.orders(stack, ids)
    settled = [i for i in ids if run.orders.get(i) and run.orders[i].status in invariants.TERMINAL]
    return invariants.Snapshot(
        placed=ids,
        orders=run.orders,
        history=stores.history(stack, settled) if full else {},
        reservations=stores.reservations(stack, settled),
        authorizations=stores.authorizations(stack, settled),
        stock_before=base["stock"],
        stock_after=stores.stock(stack),
        stock_seen=base["samples"],
        foreign=run.foreign,
        pending_at_start=base["pending"],
        outbox_pending=stores.outbox_pending(stack) if full else [],
    )


def settle(stack: StackRef, run: Run, base: dict[str, Any], bound_s: float, label: str) -> None:
    """Until every order is terminal, the stores agree (every rule but the read model's) and
    the work queues are empty, or ``bound_s`` passes; the reconciler runs every round."""
    started = time.monotonic()
    sqs = stack.client("sqs")
    queues = work_queues(stack)
    rounds, why = 0, ""
    while True:
        rounds += 1
        invoke_reconciler(stack, run)
        snap = snapshot(stack, run, base, full=True)
        failing = [
            v.name
            for v in invariants.check(snap)
            if not v.holds and v.name not in {"one outcome event", "DLQs listed", "DLQs empty"}
        ]
        busy = [q.rsplit("/", 1)[-1] for q in queues if dead_letters.depth(sqs, q)]
        why = ", ".join(failing + [f"{q} not empty" for q in busy])
        if not why:
            break
        if time.monotonic() - started > bound_s:
            break
        time.sleep(SETTLE_EVERY_S)
    run.settles.append(
        {
            "phase": label,
            "seconds": round(time.monotonic() - started, 1),
            "rounds": rounds,
            "settled": not why,
            "unsettled": why,
        }
    )


def list_dead_letters(stack: StackRef) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found = []
    for dlq in dead_letters.find_dead_letter_queues(stack):
        peeked = dead_letters.peek(sqs, dlq.url, PEEK_LIMIT) if dlq.visible else []
        found.append(
            {
                **dlq.to_json(),
                "messages": [dead_letters.message_report(m) for m in peeked],
                "redrivable": len(dlq.source_queues) == 1,
            }
        )
    return found


def redrive_all(stack: StackRef, queues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for queue in queues:
        if not (queue["depth"] or queue["inFlight"]):
            continue
        if not queue["redrivable"]:
            results.append(
                {"queue": queue["logicalId"], "status": "not redriven", "note": "no source queue"}
            )
            continue
        result = dead_letters.redrive(stack, queue["logicalId"], dry_run=False)
        results.append(result.to_json())
    return results


class StockSampler:
    """Reads the stock every ``SAMPLE_EVERY_S`` while the orders are placed (a thread): the
    samples "stock never below zero" checks besides the stock after the run."""

    def __init__(self, stack: StackRef) -> None:
        self.stack = stack
        self.samples: list[dict[str, invariants.Stock]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            with contextlib.suppress(ClientError):  # a failed read: the next one
                self.samples.append(stores.stock(self.stack))
            if self._stop.wait(SAMPLE_EVERY_S):
                return

    def __enter__(self) -> StockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(stores.stock(self.stack))


# --- the command ------------------------------------------------------------------------------


def execute(
    stack: StackRef, experiment: Experiment, *, orders: int, rate: float, seed: int, settle_s: float
) -> Run:
    """The whole run (module docstring); the report is ``report.build(run)``."""
    customer = f"chaos-{experiment.name[:60]}-{seed}-{uuid.uuid4().hex[:8]}"
    run = Run(experiment, seed, rate, customer)
    orderer = load.Orders(
        load.api_url(stack), load.api_key(stack), customer, load.customer_token(stack, customer)
    )
    planned = load.plan(orders, seed)
    first = before_batch(orders)

    create_template(stack, run)
    run.started_at = datetime.now(UTC).isoformat()
    base: dict[str, Any] = {
        "pending": stores.pending_orders(stack),
        "stock": stores.stock(stack),
        "samples": [],
    }
    run.breakers_before = stores.breakers(stack)
    earlier = {invariants.about(m) for q in list_dead_letters(stack) for m in q["messages"]}

    # the first order warms the API's functions up: its cold start is not a fault's doing
    run.posts = load.offer(orderer, planned[:1], rate, lambda: "warm-up")
    run.posts += load.offer(orderer, planned[1:first], rate, lambda: "before")
    start_experiment(stack, run)
    faults_end = time.monotonic() + experiment.duration_s
    phase = lambda: "during" if time.monotonic() < faults_end else "after"  # noqa: E731
    with StockSampler(stack) as sampler:
        run.posts += load.offer(orderer, planned[first:], rate, phase)
    base["samples"] = sampler.samples
    end_experiment(stack, run, faults_end)

    mine = stores.orders_since(stack, run.started_at)
    run.placed = sorted(
        {p.order_id for p in run.posts if p.order_id}
        | {o.order_id for o in mine if o.customer_id == customer}
    )
    run.foreign = {o.order_id: o for o in mine if o.customer_id != customer}

    settle(stack, run, base, settle_s, "before redrive")
    run.dead_letters = list_dead_letters(stack)
    first_snap = snapshot(stack, run, base, full=True)
    first_snap.dead_letters = run.dead_letters
    first_snap.dead_letters_before = frozenset(earlier)
    run.before_redrive = invariants.check(first_snap)

    run.redrives = redrive_all(stack, run.dead_letters)
    if run.redrives:
        settle(stack, run, base, settle_s, "after redrive")
    # others' orders placed meanwhile, read again: they settled too
    run.foreign = {
        o.order_id: o
        for o in stores.orders_since(stack, run.started_at)
        if o.customer_id != customer
    }
    last_snap = snapshot(stack, run, base, full=True)
    last_snap.dead_letters = list_dead_letters(stack)
    last_snap.dead_letters_before = frozenset(earlier)
    last_snap.after_redrive = True
    run.after_redrive = invariants.check(last_snap)
    run.breakers_after = stores.breakers(stack)
    return run


def run_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="The experiment: a create-experiment-template JSON.")
    ],
    *,
    orders: Annotated[int, typer.Option("--orders", help="Orders to place in all.")] = 200,
    rate: Annotated[float, typer.Option("--rate", help="Orders offered per second.")] = 2.0,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the token mix and FIS's draw.")] = 7,
    settle_s: Annotated[
        float, typer.Option("--settle", help="Bound on each wait for the system to settle (s).")
    ] = 600,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object instead of tables.")
    ] = False,
) -> None:
    """Run a chaos experiment under load and check that no order, unit of stock or payment was
    lost or doubled. Exit status 0 only if every invariant holds (after the redrive)."""
    try:
        experiment = load_experiment(file)
    except ExperimentFileError as error:
        fail(str(error))
    if orders < 1:
        fail(f"--orders must be at least 1, got {orders}")
    load.check_rate(rate)
    if settle_s <= 0:
        fail(f"--settle must be more than 0 seconds, got {settle_s:g}")
    stack = stack_of(ctx)
    stack.output("OrdersTableName")  # the outputs first: a clear error before any AWS call
    run = execute(stack, experiment, orders=orders, rate=rate, seed=seed, settle_s=settle_s)
    built = report.build(run)
    if as_json:
        console().print_json(json.dumps(built, default=str))
    else:
        report.show(built)
    if not built["holds"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    chaos = typer.Typer(
        help="Chaos experiments (AWS FIS) under load, with invariants.", no_args_is_help=True
    )
    chaos.command("run")(run_command)
    app.add_typer(chaos, name="chaos")
