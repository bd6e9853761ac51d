"""Every patch the kit applies to LocalStack, in the order ``startup.py`` checks and applies
them. Kept apart by kind (emulator/README.md lists them):

- ``KIT``: what the kit relies on (checked) and the route that reports what was applied;
- ``BEHAVIOUR_FIXES``: LocalStack made to do what AWS does (``behaviour.py``,
  ``event_delivery.py``, ``disabled_rules.py``, ``execution_names.py``, ``archive.py``,
  ``concurrency.py``, ``xray/hooks.py``: AWS's own X-Ray segments and the trace header's
  hops, ``event_sources.py``: SQS batching windows), and the tests' Step Functions time
  scale (``time_scale.py``);
- ``LATE_BEHAVIOUR_FIXES``: behaviour fixes applied after the performance hooks;
- ``PERFORMANCE_HOOKS``: the same results, cheaper (``telemetry``, ``stepfunctions``,
  ``gateway``, ``internal_clients``, ``event_sources``).
- ``FIS_DELIVERY_FAULTS``: kit patches that inject FIS's duplicate deliveries
  (``fis/duplicates.py``), applied last: the EventBridge one wraps ``event_delivery``'s.

Importing this module imports nothing of LocalStack's: each patch resolves its targets when
it is checked.
"""

from __future__ import annotations

from orderflow_hostexec import (
    alarms,
    archive,
    behaviour,
    cloudwatch_store,
    concurrency,
    dashboards,
    disabled_rules,
    event_delivery,
    event_sources,
    execution_names,
    fis,
    gateway,
    internal_clients,
    kit,
    metrics,
    percentiles,
    stepfunctions,
    telemetry,
    time_scale,
    xray,
)
from orderflow_hostexec.fis import duplicates
from orderflow_hostexec.patches import Patch

KIT: tuple[Patch, ...] = (*kit.PATCHES, *fis.PATCHES, xray.PATCHES[0])  # AWS FIS, X-Ray offline
BEHAVIOUR_FIXES: tuple[Patch, ...] = (
    *behaviour.PATCHES,
    *time_scale.PATCHES,  # Step Functions time scaling, for tests
    *event_delivery.PATCHES,  # rule targets' RetryPolicy and DeadLetterConfig
    *disabled_rules.PATCHES,  # a disabled rule (schedule or pattern) fires nothing
    *execution_names.PATCHES,  # a rule's executions named afresh (duplicates start twice)
    *archive.PATCHES,  # EventBridge archive resource and replays (orderflow replay)
    *concurrency.PATCHES,  # a template's reserved concurrency applied (bulkheads)
    *xray.PATCHES[1:],  # X-Ray: AWS's own segments and trace propagation (xray/hooks.py)
    *metrics.PATCHES,  # EMF, AWS/States and SQS depth metrics, as AWS publishes them
    *dashboards.PATCHES,  # AWS::CloudWatch::Dashboard from CloudFormation
    *percentiles.PATCHES,  # p90, p99 ... in GetMetricData and ExtendedStatistic alarms
    *alarms.PATCHES,  # alarms judged on their evaluation range; history stamped at the change
    *event_sources.BEHAVIOUR,  # an SQS mapping's batching window gathers a batch
)
PERFORMANCE_HOOKS: tuple[Patch, ...] = (
    *telemetry.PATCHES,
    *cloudwatch_store.PATCHES,  # one SQLite commit per PutMetricData
    *stepfunctions.PATCHES,
    *gateway.PATCHES,
    *internal_clients.PATCHES,  # LocalStack's calls to itself: no SigV4, one User-Agent
    *event_sources.PATCHES,
)
# behaviour fixes that must be applied after the performance hooks (concurrency.py)
LATE_BEHAVIOUR_FIXES: tuple[Patch, ...] = concurrency.AFTER_PERFORMANCE_HOOKS
# FIS duplicate deliveries (kind kit): after event_delivery's retry/DLQ wrapper, which they call
FIS_DELIVERY_FAULTS: tuple[Patch, ...] = duplicates.PATCHES
ALL: tuple[Patch, ...] = (
    *KIT,
    *BEHAVIOUR_FIXES,
    *PERFORMANCE_HOOKS,
    *LATE_BEHAVIOUR_FIXES,
    *FIS_DELIVERY_FAULTS,
)
