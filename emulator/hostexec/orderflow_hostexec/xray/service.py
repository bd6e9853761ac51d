"""The one X-Ray of this emulator: its trace store, sampler and daemon, shared by the API
provider (``provider.py``), the daemon's listener and the hooks that add AWS's own segments
(``hooks.py``). One account and region, as the rest of the kit assumes."""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.xray.daemon import Daemon
from orderflow_hostexec.xray.sampling import Sampler
from orderflow_hostexec.xray.store import TraceStore

STORE = TraceStore()
SAMPLER = Sampler()
DAEMON = Daemon(STORE)


def daemon_address() -> str:
    """Where functions send their segments; starts the daemon on first use."""
    return DAEMON.address or DAEMON.start()


def report() -> dict[str, Any]:
    return {"daemon": DAEMON.address, **STORE.stats()}
