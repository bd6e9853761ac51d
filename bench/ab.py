"""A/B benchmark: this checkout against a baseline commit (default 173cdc4, issue 13's
baseline), on the same machine, in one run, with a before / after / ratio table.

Each side is a checkout with its own emulator (its own port and ``.localstack``), deployed
with its own ``make deploy`` and measured with its own benchmark scripts where it has them:

1. CPU per order at a fixed offered rate, warm: ``bench.orders --orders 90 --rate 3`` after a
   warm-up run (30 at 3/s), CPU split LocalStack / Lambda / DynamoDB Local (``bench/cpu.py``;
   run through ``bench/ab_shim.py`` so only that side's emulator processes are counted);
2. sustained orders/s at saturation: ``bench.orders --orders 120 --rate 8``, no invariant
   violations;
3. idle CPU (cores) of the emulator with the app deployed, over 60 s once settled;
4. one order at a time, POST -> CONFIRMED visible in ``GET /orders/{id}`` (p50), over
   ``GET /products`` (p50) in the same run: ``bench/ab_client.py follow`` (this checkout's
   client, adapting to each side's API: JWT or ``customerId``; polling every 0.1 s on both
   sides, and alternately long polling where the side has it);
5. cold start p50 over the API floor p50: ``bench.lambda_invoke``;
6. counts per order that do not depend on the machine: gateway requests by service and
   operation, Lambda invocations, DynamoDB requests, Step Functions state transitions, from a
   separate counting session per side (``ORDERFLOW_BENCH_PROBE=1``, the probe of
   ``bench/probe``; ``HOSTEXEC_DYNAMODB_DIRECT=0`` so that the functions' DynamoDB calls pass
   the gateway): ``bench/ab_client.py count``.

The current side is deployed with tracing sampled as AWS samples it
(``ORDERFLOW_TRACING='{"sample_everything": false}'``, infra/tracing.py); no webhook
subscriptions. Only one emulator runs at a time (each is brought down after its session);
``--rounds 2`` runs the performance sessions before, after, after, before to cancel drift.

The baseline checkout is set up idempotently: a detached worktree beside this one
(``../ab-<rev>``), its own emulator virtualenv (its own kit; pip's cache), this checkout's dev
and Lambda virtualenvs and node_modules linked when the baseline's pins match. Raw outputs
go to ``bench/results/ab-<time>/``; the tables are printed and written there as report.md.

    .venvs/dev/bin/python -m bench.ab                 # or: make bench-ab
    .venvs/dev/bin/python -m bench.ab --only counts   # just the counts
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ab_report as report
from bench.ab_shim import emulator_pid
from bench.cpu import CpuMeter
from bench.probe.orderflow_bench_probe.counting import from_rows
from bench.stats import summary

ROOT = Path(__file__).resolve().parent.parent
PROBE_SOURCE = ROOT / "bench" / "probe"
PROBE_FILES = ("__init__.py", "counting.py", "plugin.py")
SHARED_LINKS = (".venvs/dev", ".venvs/lambda-python3.13", "node_modules")
# Inputs of the installs a baseline checkout shares with this one: dated back so that its
# Makefile sees the shared installs as up to date (the brief's worktree recipe).
SHARED_INPUTS = (
    "requirements.txt",
    "emulator/lambda-runtime-requirements.txt",
    "package.json",
    "package-lock.json",
    "cli/pyproject.toml",
)
OLD_DATE = "2026-01-01"
SAMPLED_AS_AWS = '{"sample_everything": false}'
BASE_LABEL, CURRENT_LABEL = "before", "after"
PHASES = ("cpu", "saturation", "idle", "follow", "invoke", "profile", "counts")


@dataclass
class Side:
    """One checkout under test."""

    label: str  # "before" or "after"
    root: Path
    port: int
    rev: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def has_long_poll(self) -> bool:
        return (self.root / "bench" / "follow.py").exists()

    @property
    def has_tracing_config(self) -> bool:
        return (self.root / "infra" / "tracing.py").exists()

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("ORDERFLOW_BENCH_PROBE", "HOSTEXEC_DYNAMODB_DIRECT", "VIRTUAL_ENV")
        }
        env.update(AWS_ENDPOINT_URL=self.endpoint, AWS_ENDPOINT_URL_S3=self.endpoint)
        # LocalStack gives a new execution environment 20 s to start; on a machine loaded by
        # other emulators that is not always enough (a 502 for the order that needed it).
        env.setdefault("LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", "60")
        if self.has_tracing_config:
            env["ORDERFLOW_TRACING"] = SAMPLED_AS_AWS
        env.update(extra)
        return env

    def bench_env(self, env: dict[str, str], root: Path) -> dict[str, str]:
        """``env`` for a benchmark process importing ``root``'s modules: bench/orders.py at
        HEAD imports tests/integration/support.py, which imports the emulator kit
        (``orderflow_hostexec``), on the path of pytest's ``pythonpath`` but of no venv."""
        paths = [str(root), str(root / "emulator" / "hostexec")]
        return {**env, "PYTHONPATH": os.pathsep.join(paths)}


@dataclass
class Measured:
    """Everything measured on one side (lists: one entry per round)."""

    cpu: list[report.OrdersRun] = field(default_factory=list)
    saturation: list[report.OrdersRun] = field(default_factory=list)
    idle_cores: list[float] = field(default_factory=list)
    follow: list[dict[str, Any]] = field(default_factory=list)
    invoke: list[report.InvokeRun] = field(default_factory=list)
    counts: report.CountSummary | None = None
    profile: str = ""  # py-spy's raw output (the current side only)
    idle_requests: dict[str, float] = field(default_factory=dict)


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.out = ROOT / "bench" / "results" / f"ab-{stamp}"
        self.out.mkdir(parents=True, exist_ok=True)
        self.loads: list[tuple[str, str, str]] = []  # (what, load before, load after)
        self.failures: list[str] = []
        self.notes: set[str] = set()
        self.suffix = ""  # "-r<round>" on the raw outputs' names when there are rounds

    # --- logging and subprocesses --------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"[ab {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)

    def run(
        self,
        side: Side,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        timeout: float = 900,
        cwd: Path | None = None,
    ) -> str:
        """Run ``command`` for ``side``; its output goes to ``<out>/<side>-<name>.txt``;
        returns its stdout; fails with the log's tail if it fails."""
        log = self.out / f"{side.label}-{name}{self.suffix}.txt"
        before = _load()
        started = time.monotonic()
        self.say(f"{side.label}: {name}: {' '.join(command)}")
        with log.open("w") as stream:
            proc = subprocess.run(
                list(command),
                cwd=cwd or side.root,
                env=env or side.env(),
                stdout=subprocess.PIPE,
                stderr=stream,
                text=True,
                timeout=timeout,
                check=False,
            )
            stream.write(f"\n--- stdout ---\n{proc.stdout}")
        self.loads.append(
            (f"{side.label} {name} ({time.monotonic() - started:.0f} s)", before, _load())
        )
        if proc.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-30:])
            raise RuntimeError(f"{side.label} {name} failed ({proc.returncode}); {log}:\n{tail}")
        return proc.stdout

    # --- setting up the baseline ---------------------------------------------------------

    def prepare_baseline(self, side: Side) -> None:
        rev = _git(ROOT, "rev-parse", f"{side.rev}^{{commit}}")
        if not (side.root / ".git").exists():
            self.say(f"adding the worktree {side.root} at {side.rev}")
            _git(ROOT, "worktree", "add", "--detach", str(side.root), rev)
        elif _git(side.root, "rev-parse", "HEAD") != rev:
            raise SystemExit(f"{side.root} is not at {side.rev}: remove it or pass --base-dir")
        self._check_shared_pins(side.root)
        for link in SHARED_LINKS:
            target, path = (ROOT / link).resolve(), side.root / link
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink() and path.resolve() == target:
                continue
            if path.exists() and not path.is_symlink():
                raise SystemExit(f"{path} exists and is not a link to {target}")
            path.unlink(missing_ok=True)
            path.symlink_to(target)
        for name in SHARED_INPUTS:
            if (side.root / name).exists():
                subprocess.run(["touch", "-d", OLD_DATE, str(side.root / name)], check=True)
        self.say("building the baseline's own emulator virtualenv (if out of date)")
        self.run(side, "emulator-venv", ["make", ".venvs/emulator/.installed"], timeout=1800)
        shared = [f"{link}/.installed" for link in SHARED_LINKS]
        if subprocess.run(["make", "-q", *shared], cwd=side.root, check=False).returncode:
            raise SystemExit(f"the baseline's make would reinstall one of {shared}; refusing")

    @staticmethod
    def _check_shared_pins(root: Path) -> None:
        """The installs linked from this checkout serve the baseline only if its pins are
        this checkout's (Lambda runtime, npm) or a subset of them (the dev virtualenv)."""
        for name in ("emulator/lambda-runtime-requirements.txt", "package-lock.json"):
            if (root / name).read_text() != (ROOT / name).read_text():
                raise SystemExit(f"{root / name} differs from this checkout's: cannot share it")
        mine = _pins(ROOT / "requirements.txt")
        for name, version in _pins(root / "requirements.txt").items():
            if mine.get(name, version) != version:
                raise SystemExit(f"the baseline pins {name}=={version}, this checkout another")

    def install_probe(self, side: Side) -> None:
        """The probe in the side's emulator virtualenv, reinstalled when its files differ."""
        python = side.root / ".venvs" / "emulator" / "bin" / "python"
        where = subprocess.run(
            [str(python), "-c", "import orderflow_bench_probe as p; print(p.__file__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if where.returncode == 0:
            installed = Path(where.stdout.strip()).parent
            source = PROBE_SOURCE / "orderflow_bench_probe"
            if all(
                (installed / f).exists()
                and (installed / f).read_bytes() == (source / f).read_bytes()
                for f in PROBE_FILES
            ):
                return
        self.say(f"installing the probe into {python.parent.parent}")
        with tempfile.TemporaryDirectory() as build:
            copy = Path(build) / "probe"
            shutil.copytree(
                PROBE_SOURCE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info")
            )
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "--force-reinstall",
                    str(copy),
                ],
                check=True,
            )

    # --- one emulator session ------------------------------------------------------------

    @contextmanager
    def session(self, side: Side, name: str, **extra_env: str) -> Iterator[dict[str, str]]:
        env = side.env(**extra_env)
        subprocess.run(["make", "down"], cwd=side.root, env=env, check=False, capture_output=True)
        try:
            self.run(side, f"{name}-deploy", ["make", "deploy"], env=env, timeout=1800)
            self.notes.add(f"{side.label}: {tracing_of(side.root)}")
            yield env
        finally:
            subprocess.run(
                ["make", "down"], cwd=side.root, env=env, check=False, capture_output=True
            )

    def side_bench(
        self, side: Side, name: str, module: str, *arguments: str, env: dict[str, str]
    ) -> str:
        python = str(side.root / ".venvs" / "dev" / "bin" / "python")
        shim = str(ROOT / "bench" / "ab_shim.py")
        return self.run(
            side, name, [python, shim, module, *arguments], env=side.bench_env(env, side.root)
        )

    def attempt(self, side: Side, phase: str, measure: Callable[[], object]) -> bool:
        """Run one phase; a failing phase is reported (and the run goes on), not fatal."""
        try:
            measure()
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as error:
            self.failures.append(f"{side.label} {phase}: {str(error).splitlines()[0]}")
            self.say(f"{side.label}: {phase} FAILED: {error}")
            return False
        return True

    def performance(self, side: Side, measured: Measured) -> None:
        a = self.args
        python = str(ROOT / ".venvs" / "dev" / "bin" / "python")
        outputs = str(side.root / "outputs.json")

        def orders(name: str, count: int, rate: float) -> report.OrdersRun:
            text = self.side_bench(
                side, name, "bench.orders", "--orders", str(count), "--rate", f"{rate:g}", env=env
            )
            return report.parse_orders(text)

        def follow() -> None:
            command = [python, "-m", "bench.ab_client", "follow", "--outputs", outputs]
            command += ["--orders", str(a.follow_orders), "--interval", f"{a.interval:g}"]
            if side.has_long_poll:
                command.append("--long-poll")
            text = self.run(side, "follow", command, env=side.bench_env(env, ROOT), cwd=ROOT)
            measured.follow.append(json.loads(text))

        def invoke() -> None:
            arguments = ("--cold", str(a.cold), "--warm", str(a.warm))
            text = self.side_bench(side, "invoke", "bench.lambda_invoke", *arguments, env=env)
            measured.invoke.append(report.parse_invoke(text))

        def profile() -> None:
            """Where LocalStack's time goes at the CPU run's rate: py-spy samples the threads
            holding the GIL (what limits a one-process emulator) while orders run."""
            raw = self.out / f"{side.label}-profile{self.suffix}.raw"
            command = [a.py_spy, "record", "--pid", str(emulator_pid(side.root))]
            command += ["--duration", f"{a.profile_s:g}", "--rate", "50", "--nonblocking"]
            command += ["--gil", "--format", "raw", "--output", str(raw)]
            with (self.out / f"{side.label}-profile-py-spy.txt").open("w") as log:
                spy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
                try:
                    orders("profile-orders", round(a.profile_s * a.rate), a.rate)
                finally:
                    spy.wait(timeout=a.profile_s + 120)
            measured.profile = raw.read_text()

        with self.session(side, "perf") as env:
            # A cold emulator on a loaded machine may answer a first POST with a 502 (a
            # function's init timed out): the warm-up is tried twice.
            warm = lambda name: orders(name, a.warmup, a.rate).violations  # noqa: E731
            if not self.attempt(side, "warm-up", lambda: warm("warmup")):
                self.attempt(side, "warm-up (again)", lambda: warm("warmup-again"))
            if "idle" in a.only:
                self.attempt(
                    side,
                    "idle",
                    lambda: measured.idle_cores.append(self.idle_cores(side, a.settle, a.idle)),
                )
            if "cpu" in a.only:
                self.attempt(
                    side, "cpu", lambda: measured.cpu.append(orders("cpu", a.orders, a.rate))
                )
            if "saturation" in a.only:
                self.attempt(
                    side,
                    "saturation",
                    lambda: measured.saturation.append(
                        orders("saturation", a.saturation_orders, a.saturation_rate)
                    ),
                )
            if "follow" in a.only:
                self.attempt(side, "follow", follow)
            if "invoke" in a.only:
                self.attempt(side, "invoke", invoke)
            if "profile" in a.only and side.label == CURRENT_LABEL and not measured.profile:
                if a.py_spy:
                    self.attempt(side, "profile", profile)
                else:
                    self.notes.add("no profile: py-spy not found (pip install py-spy; --py-spy)")

    def idle_cores(self, side: Side, settle_s: float, window_s: float) -> float:
        """Cores the side's emulator processes use, idle, over ``window_s``."""
        before_load = _load()
        time.sleep(settle_s)
        meter = CpuMeter(root_pid=emulator_pid(side.root))
        meter.start()
        time.sleep(window_s)
        cores = sum(meter.stop().values()) / meter.wall_s
        wall = meter.wall_s
        self.loads.append((f"{side.label} idle ({window_s:.0f} s)", before_load, _load()))
        (self.out / f"{side.label}-idle{self.suffix}.txt").write_text(
            f"{cores:.4f} cores over {wall:.1f} s\n"
        )
        return cores

    def counts(self, side: Side, measured: Measured) -> None:
        a = self.args
        with self.session(
            side, "counts", ORDERFLOW_BENCH_PROBE="1", HOSTEXEC_DYNAMODB_DIRECT="0"
        ) as env:
            self.side_bench(
                side, "counts-warmup", "bench.orders", "--orders", "10", "--rate", "2", env=env
            )
            command = [
                str(ROOT / ".venvs" / "dev" / "bin" / "python"),
                "-m",
                "bench.ab_client",
                "count",
                "--outputs",
                str(side.root / "outputs.json"),
                "--orders",
                str(a.count_orders),
                "--rate",
                f"{a.count_rate:g}",
                "--idle",
                f"{a.count_idle:g}",
            ]
            raw = json.loads(
                self.run(side, "counts", command, env=side.bench_env(env, ROOT), cwd=ROOT)
            )
        measured.counts, measured.idle_requests = counts_of(raw)

    # --- the whole run -------------------------------------------------------------------

    def main(self, base: Side, current: Side) -> str:
        self.prepare_baseline(base)
        if "counts" in self.args.only:
            for side in (base, current):
                self.install_probe(side)
        results = {base.label: Measured(), current.label: Measured()}
        performance = set(self.args.only) - {"counts"}
        if performance:
            for round_ in range(self.args.rounds):
                self.suffix = f"-r{round_ + 1}" if self.args.rounds > 1 else ""
                order = (base, current) if round_ % 2 == 0 else (current, base)
                for side in order:
                    measured = results[side.label]
                    self.attempt(side, "session", lambda: self.performance(side, measured))  # noqa: B023
        self.suffix = ""
        if "counts" in self.args.only:
            for side in (current, base):
                measured = results[side.label]
                self.attempt(side, "counts", lambda: self.counts(side, measured))  # noqa: B023
        text = render(
            results[base.label],
            results[current.label],
            args=self.args,
            base=base,
            current=current,
            loads=self.loads,
            failures=self.failures,
            notes=sorted(self.notes),
        )
        (self.out / "report.md").write_text(text)
        meta = {
            "argv": sys.argv[1:],
            "base": base.rev,
            "after": _describe(current.root),
            "loads": self.loads,
            "failures": self.failures,
            "notes": sorted(self.notes),
        }
        (self.out / "meta.json").write_text(json.dumps(meta, indent=1))
        return text


def counts_of(raw: dict[str, Any]) -> tuple[report.CountSummary, dict[str, float]]:
    """Per-order counts and idle request rates from ``ab_client count``'s JSON."""
    idle = from_rows(raw["idle"])
    per_order = report.order_counts(
        from_rows(raw["run"]), raw["run_s"], idle, raw["idle_s"], raw["orders"]
    )
    summary_ = report.summarise_counts(
        per_order, raw["transitions"] / raw["orders"], raw["executions"] / raw["orders"]
    )
    return summary_, report.idle_rates(idle, raw["idle_s"])


def load_results(out: Path) -> dict[str, Measured]:
    """What a run measured, read back from its raw outputs (``--from-results``)."""

    def outputs(label: str, name: str, ext: str = "txt") -> list[str]:
        paths = [out / f"{label}-{name}.{ext}", *sorted(out.glob(f"{label}-{name}-r*.{ext}"))]
        texts = [path.read_text() for path in paths if path.exists()]
        return [text.split("\n--- stdout ---\n", 1)[-1] for text in texts]

    results = {}
    for label in (BASE_LABEL, CURRENT_LABEL):
        measured = Measured()
        for text in outputs(label, "cpu"):
            with contextlib.suppress(report.OutputNotUnderstood):
                measured.cpu.append(report.parse_orders(text))
        for text in outputs(label, "saturation"):
            with contextlib.suppress(report.OutputNotUnderstood):
                measured.saturation.append(report.parse_orders(text))
        measured.idle_cores = [float(text.split()[0]) for text in outputs(label, "idle")]
        for text in outputs(label, "follow"):
            with contextlib.suppress(ValueError):
                measured.follow.append(json.loads(text))
        for text in outputs(label, "invoke"):
            with contextlib.suppress(report.OutputNotUnderstood):
                measured.invoke.append(report.parse_invoke(text))
        measured.profile = "".join(outputs(label, "profile", "raw")[:1])
        for text in outputs(label, "counts"):
            with contextlib.suppress(ValueError):
                measured.counts, measured.idle_requests = counts_of(json.loads(text))
        results[label] = measured
    return results


# --- the report ----------------------------------------------------------------------------


def _follow_ratio(runs: list[dict[str, Any]], mode: str) -> tuple[float, float, float]:
    """(confirmed p50, products p50, their ratio) over the rounds (medians)."""
    confirmed = report.middle(
        summary(r["confirmed_ms"][mode])["p50"] for r in runs if r["confirmed_ms"][mode]
    )
    products = report.middle(summary(r["products_ms"])["p50"] for r in runs)
    return confirmed, products, report.ratio(products, confirmed)


def render(
    before: Measured,
    after: Measured,
    *,
    args: argparse.Namespace,
    base: Side,
    current: Side,
    loads: list[tuple[str, str, str]],
    failures: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> str:
    R, T = report.Row, report.Target
    m = report.middle
    rows: list[report.Row] = []
    if before.cpu and after.cpu:
        for group in ("all", "LocalStack", "Lambda", "DynamoDB Local"):
            name = "CPU per order, all of the emulator" if group == "all" else f"- {group}"
            rows.append(
                R(
                    f"{name} ({args.orders} at {args.rate:g}/s, warm)" if group == "all" else name,
                    m(r.cpu_per_order[group] for r in before.cpu),
                    m(r.cpu_per_order[group] for r in after.cpu),
                    "ms",
                    T("ratio<=", 0.5) if group == "all" else None,
                    0,
                )
            )
        rows.append(
            R(
                "- POST -> terminal p50 at that rate",
                m(r.terminal_p50 for r in before.cpu),
                m(r.terminal_p50 for r in after.cpu),
                "ms",
                None,
                0,
            )
        )
        rows.append(
            R(
                "- violations",
                m(r.violations for r in before.cpu),
                m(r.violations for r in after.cpu),
                "",
                None,
                0,
            )
        )
    if before.saturation and after.saturation:
        rows.append(
            R(
                f"sustained orders/s ({args.saturation_orders} at {args.saturation_rate:g}/s)",
                m(r.sustained for r in before.saturation),
                m(r.sustained for r in after.saturation),
                "/s",
                T("ratio>=", 2),
                2,
            )
        )
        rows.append(
            R(
                "- invariant violations",
                sum(r.violations for r in before.saturation),
                sum(r.violations for r in after.saturation),
                "",
                None,
                0,
            )
        )
        rows.append(
            R(
                "- CPU per order at saturation",
                m(r.cpu_per_order["all"] for r in before.saturation),
                m(r.cpu_per_order["all"] for r in after.saturation),
                "ms",
                None,
                0,
            )
        )
    if before.idle_cores and after.idle_cores:
        rows.append(
            R(
                f"idle emulator, app deployed ({args.idle:g} s)",
                m(before.idle_cores),
                m(after.idle_cores),
                "cores",
                T("ratio<=", 0.25),
                3,
            )
        )
    if before.follow and after.follow:
        b_confirmed, b_products, b_ratio = _follow_ratio(before.follow, "poll")
        a_confirmed, a_products, a_ratio = _follow_ratio(after.follow, "poll")
        rows.append(
            R(
                f"one at a time: POST -> CONFIRMED seen, poll every {args.interval:g} s, p50",
                b_confirmed,
                a_confirmed,
                "ms",
                None,
                0,
            )
        )
        rows.append(R("- GET /products p50 (same run)", b_products, a_products, "ms", None, 1))
        rows.append(
            R("- CONFIRMED seen / GET /products (p50s)", b_ratio, a_ratio, "x", T("after<=", 15), 1)
        )
        if any(r["confirmed_ms"]["long poll"] for r in after.follow):
            _, _, long_ratio = _follow_ratio(after.follow, "long poll")
            long_p50 = report.middle(
                summary(r["confirmed_ms"]["long poll"])["p50"]
                for r in after.follow
                if r["confirmed_ms"]["long poll"]
            )
            rows.append(
                R(
                    "- after, long poll (?wait=20): CONFIRMED seen p50",
                    float("nan"),
                    long_p50,
                    "ms",
                    None,
                    0,
                )
            )
            rows.append(
                R(
                    "- after, long poll: CONFIRMED seen / GET /products",
                    float("nan"),
                    long_ratio,
                    "x",
                    T("after<=", 15),
                    1,
                )
            )
    if before.invoke and after.invoke:
        b_cold = m(r.cold_p50 for r in before.invoke)
        a_cold = m(r.cold_p50 for r in after.invoke)
        b_floor = m(r.floor_p50 for r in before.invoke)
        a_floor = m(r.floor_p50 for r in after.invoke)
        rows.append(R("cold start p50 (bench.lambda_invoke)", b_cold, a_cold, "ms", None, 0))
        rows.append(R("- API floor p50 (lambda.list_functions)", b_floor, a_floor, "ms", None, 1))
        rows.append(
            R(
                "- cold start / API floor",
                report.ratio(b_floor, b_cold),
                report.ratio(a_floor, a_cold),
                "x",
                T("after<=", 8),
                1,
            )
        )
        rows.append(
            R(
                "- warm invoke / API floor",
                report.ratio(b_floor, m(r.warm_p50 for r in before.invoke)),
                report.ratio(a_floor, m(r.warm_p50 for r in after.invoke)),
                "x",
                None,
                2,
            )
        )
    parts = [
        f"## A/B: {base.rev} (before) vs {_describe(current.root)} (after)\n",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; rounds: {args.rounds}"
        f" ({'before, after, after, before' if args.rounds > 1 else 'before, then after'});"
        " medians over rounds.\n",
    ]
    parts.extend(f"- {note}" for note in notes)
    if rows:
        parts.append(("\n" if notes else "") + report.markdown(rows))
    parts.extend(_counts_section(before, after, args))
    if failures:
        parts.append("\n**Phases that failed** (their rows are missing; logs in the results):\n")
        parts.extend(f"- {failure}" for failure in failures)
    if after.profile:
        parts.append(
            f"\n### Where LocalStack's time goes (after; py-spy --gil, {args.rate:g} orders/s)\n"
        )
        parts.append(report.profile_markdown(after.profile))
    parts.append("\n### Load average (1, 5, 15 min) around each phase\n")
    parts.append("| phase | before it | after it |\n|---|---|---|")
    parts.extend(f"| {what} | {b} | {a} |" for what, b, a in loads)
    return "\n".join(parts) + "\n"


def _counts_section(before: Measured, after: Measured, args: argparse.Namespace) -> list[str]:
    R = report.Row
    parts: list[str] = []
    if before.counts and after.counts:
        parts.append(
            f"\n### Counts per order (machine-independent; {args.count_orders} orders of the "
            f"bench mix at {args.count_rate:g}/s, counted at the gateway with "
            "HOSTEXEC_DYNAMODB_DIRECT=0; empty polls and idle background excluded)\n"
        )
        parts.append(report.markdown(report.count_rows(before.counts, after.counts)))
        services = sorted(set(before.idle_requests) | set(after.idle_requests))
        parts.append("\nidle gateway requests per second, by service (empty polls included):\n")
        parts.append(
            report.markdown(
                [
                    R(
                        f"- {s}",
                        before.idle_requests.get(s, 0.0),
                        after.idle_requests.get(s, 0.0),
                        "/s",
                        None,
                        2,
                    )
                    for s in services
                ]
            )
        )
    return parts


def tracing_of(root: Path) -> str:
    """Which X-Ray sampling the side deployed, read from its synthesized template."""
    template = root / "cdk.out" / "Orderflow.template.json"
    if not template.exists():
        return "no cdk.out/Orderflow.template.json"
    rules = [
        resource
        for resource in json.loads(template.read_text())["Resources"].values()
        if resource["Type"] == "AWS::XRay::SamplingRule"
    ]
    if rules:
        return f"deployed {len(rules)} X-Ray sampling rule(s) of its own (sample everything)"
    return "no X-Ray sampling rule of its own: AWS's default sampling (1/s + 5%)"


def _describe(root: Path) -> str:
    head = _git(root, "rev-parse", "--short", "HEAD")
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root, check=False).returncode
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-\[\],]+)==(\S+)", line.strip()):
            pins[match[1].split("[")[0].lower()] = match[2]
    return pins


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add: Callable[..., Any] = parser.add_argument
    add("--base", default="173cdc4", help="baseline revision (default 173cdc4)")
    add("--base-dir", type=Path, help="baseline worktree (default ../ab-<base> beside this one)")
    add("--base-port", type=int, default=4576)
    add("--port", type=int, default=4571, help="this checkout's emulator port")
    add("--rounds", type=int, default=1, help="performance sessions per side (2: ABBA)")
    add("--only", nargs="+", choices=PHASES, default=list(PHASES), help="phases to run")
    add("--warmup", type=int, default=30, help="warm-up orders (at --rate)")
    add("--orders", type=int, default=90, help="orders of the CPU run")
    add("--rate", type=float, default=3.0, help="orders/s of the warm-up and CPU runs")
    add("--saturation-orders", type=int, default=120)
    add("--saturation-rate", type=float, default=8.0)
    add("--settle", type=float, default=15.0, help="seconds before the idle window")
    add("--idle", type=float, default=60.0, help="idle window (s)")
    add("--follow-orders", type=int, default=10)
    add("--interval", type=float, default=0.1, help="follow: poll interval (s)")
    add("--cold", type=int, default=20, help="lambda_invoke cold starts")
    add("--warm", type=int, default=100, help="lambda_invoke warm invokes")
    add("--count-orders", type=int, default=30)
    add("--count-rate", type=float, default=3.0)
    add("--count-idle", type=float, default=20.0, help="counts: idle window (s)")
    add("--py-spy", default=shutil.which("py-spy"), help="py-spy for the profile phase")
    add("--profile-s", type=float, default=30.0, help="profile: seconds sampled at --rate")
    add("--from-results", type=Path, help="measure nothing: rebuild the report of that run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    base_dir = args.base_dir or ROOT.parent / f"ab-{args.base}"
    base = Side(BASE_LABEL, base_dir.resolve(), args.base_port, args.base)
    current = Side(CURRENT_LABEL, ROOT, args.port, "HEAD")
    if args.from_results:
        meta_path = args.from_results / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        results = load_results(args.from_results)
        print(
            render(
                results[BASE_LABEL],
                results[CURRENT_LABEL],
                args=args,
                base=base,
                current=current,
                loads=[tuple(load) for load in meta.get("loads", [])],
                failures=meta.get("failures", []),
                notes=meta.get("notes", []),
            )
        )
        return
    harness = Harness(args)
    started = time.monotonic()
    harness.say(f"results in {harness.out}")
    text = harness.main(base, current)
    print(text)
    harness.say(f"done in {(time.monotonic() - started) / 60:.1f} min; {harness.out / 'report.md'}")


if __name__ == "__main__":
    main()
