"""Every patch the kit applies to LocalStack, in the order ``startup.py`` checks and applies
them. Kept apart by kind (emulator/README.md lists them):

- ``KIT``: what the kit relies on (checked) and the route that reports what was applied;
- ``BEHAVIOUR_FIXES``: LocalStack made to do what AWS does (``behaviour.py``);
- ``PERFORMANCE_HOOKS``: the same results, cheaper (``telemetry``, ``stepfunctions``,
  ``gateway``, ``event_sources``).

Importing this module imports nothing of LocalStack's: each patch resolves its targets when
it is checked.
"""

from __future__ import annotations

from orderflow_hostexec import (
    behaviour,
    concurrency,  # issue 9 bulkheads: reserved concurrency from CFN
    event_sources,
    gateway,
    kit,
    stepfunctions,
    telemetry,
)
from orderflow_hostexec.patches import Patch

KIT: tuple[Patch, ...] = kit.PATCHES
BEHAVIOUR_FIXES: tuple[Patch, ...] = (*behaviour.PATCHES, *concurrency.PATCHES)
PERFORMANCE_HOOKS: tuple[Patch, ...] = (
    *telemetry.PATCHES,
    *stepfunctions.PATCHES,
    *gateway.PATCHES,
    *event_sources.PATCHES,
)
# issue 9: behaviour fixes that must be applied after the performance hooks (concurrency.py)
LATE_BEHAVIOUR_FIXES: tuple[Patch, ...] = concurrency.AFTER_PERFORMANCE_HOOKS
ALL: tuple[Patch, ...] = (*KIT, *BEHAVIOUR_FIXES, *PERFORMANCE_HOOKS, *LATE_BEHAVIOUR_FIXES)
