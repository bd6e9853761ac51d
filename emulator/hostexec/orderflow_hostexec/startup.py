"""The kit's one start-up hook (entry point ``localstack.hooks.on_infra_start``).

LocalStack runs ``on_infra_start`` hooks in its main thread before the gateway listens; an
exception from a hook ends ``LocalstackRuntime.run`` and the process (``localstack.runtime.
main`` turns ``LocalstackExit`` into its exit code). A hook whose module fails to import is
skipped by plux without a word (its resolve-exception listeners do nothing), so this module
imports as little as it can, and ``ctl.py up`` also asks ``GET /_orderflow/patches`` whether
every patch was applied.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks
from localstack.runtime.exceptions import LocalstackExit

from orderflow_hostexec import patches, registry

LOG = logging.getLogger(__name__)
REFUSED_EXIT_CODE = 3


@hooks.on_infra_start()
def apply_orderflow_patches() -> None:
    """Check every declared patch, then apply them all; refuse to start on any mismatch."""
    try:
        report = patches.start(registry.ALL)
    except patches.PatchRefused as refused:
        LOG.error("%s", refused)
        raise LocalstackExit(str(refused), code=REFUSED_EXIT_CODE) from refused
    LOG.info(
        "orderflow patches: %s",
        ", ".join(f"{entry['name']} ({entry['status']})" for entry in report),
    )
