"""``orderflow:payments:provider-mode`` (offline only): an SSM parameter set for a while.

When the action starts, each parameter it targets (``aws:ssm:parameter`` targets, resolved at
StartExperiment like the Lambda ones: by ARN or tags) is set to the action's ``mode``; when the
action ends (its ``duration`` is over, or StopExperiment) each is set back to the value found
at the start. One injected fault is counted per action run (GetExperiment, ``GET
/_orderflow/fis/faults``).

The writes go through LocalStack's own internal client (``localstack.aws.connect.connect_to``,
the way LocalStack's services call each other), so they are ordinary ``PutParameter`` calls in
the emulator's SSM store: the parameter's version advances, and the payments functions read
the new value through the same API as any other change, within their cache age
(``PROVIDER_MODE_MAX_AGE_SECONDS``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from orderflow_hostexec.fis.faults import BOARD

LOG = logging.getLogger(__name__)
PROVIDER_MODE = "orderflow:payments:provider-mode"


def _ssm(account_id: str, region: str) -> Any:
    from localstack.aws.connect import connect_to

    return connect_to(aws_access_key_id=account_id, region_name=region).ssm


def parameter_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{account_id}:parameter/{name.removeprefix('/')}"


def ssm_parameters(account_id: str, region: str) -> dict[str, dict[str, str]]:
    """Every SSM parameter of the account and region (its ARN) with its tags."""
    ssm = _ssm(account_id, region)
    found: dict[str, dict[str, str]] = {}
    for page in ssm.get_paginator("describe_parameters").paginate():
        for parameter in page["Parameters"]:
            name = parameter["Name"]
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
            found[parameter_arn(account_id, region, name)] = {
                tag["Key"]: tag["Value"] for tag in tags.get("TagList", [])
            }
    return found


def parameter_name(arn: str) -> str:
    """The name of the parameter an ARN of ``parameter_arn`` names (a hierarchical name,
    one with a ``/``, always begins with one)."""
    rest = arn.split(":parameter/", 1)[1]
    return f"/{rest}" if "/" in rest else rest


class ParameterOverride:
    """One ``provider-mode`` action of a running experiment: ``begin``, then ``end`` once."""

    def __init__(
        self,
        experiment_id: str,
        name: str,
        *,
        account_id: str,
        region: str,
        arns: list[str],
        value: str,
        duration_s: float,
    ) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.duration_s = duration_s
        self._account_id = account_id
        self._region = region
        self._names = [parameter_name(arn) for arn in arns]
        self._value = value
        self._found: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ended = False

    def begin(self) -> None:
        ssm = _ssm(self._account_id, self._region)
        with self._lock:
            for name in self._names:
                try:
                    self._found[name] = ssm.get_parameter(Name=name)["Parameter"]["Value"]
                    ssm.put_parameter(Name=name, Value=self._value, Overwrite=True)
                except Exception:
                    LOG.exception("FIS %s/%s: cannot set %s", self.experiment_id, self.name, name)
            if self._found:  # counted once the fault is in place
                BOARD.inject(self.experiment_id, self.name)
            LOG.info(
                "FIS %s/%s: %s set to %r (were %s)",
                self.experiment_id,
                self.name,
                ", ".join(self._names),
                self._value,
                self._found,
            )

    def end(self) -> None:
        """Put back the values found at ``begin`` (once; later calls do nothing)."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            ssm = _ssm(self._account_id, self._region)
            for name, value in self._found.items():
                try:
                    ssm.put_parameter(Name=name, Value=value, Overwrite=True)
                except Exception:
                    LOG.exception(
                        "FIS %s/%s: cannot restore %s", self.experiment_id, self.name, name
                    )
            LOG.info("FIS %s/%s: restored %s", self.experiment_id, self.name, self._found)
