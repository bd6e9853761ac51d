"""Chaos experiments on AWS: the settings (``DeploymentConfig.chaos``) and the experiment files.

An experiment is a JSON file in the form ``aws fis create-experiment-template
--cli-input-json`` takes (``description``, ``targets``, ``actions``, ``stopConditions``,
``tags``), one per file in ``chaos/`` (``experiments_dir``). Offline, the emulator kit's FIS
serves them as they are. On AWS, with the switch on (``fis_templates``), the stack deploys
each file whose actions are all AWS FIS's own (``aws:...``) as an
``AWS::FIS::ExperimentTemplate`` (``infra/chaos.py``); a file with any of orderflow's own
actions (``orderflow:...``: faults FIS cannot inject into Lambda) is offline only, and the
synth says so in a warning.

The switch is off on every stage: context ``orderflow:chaos`` (a JSON object, snake_case
keys, any subset) turns it on for one deployment, e.g.
``cdk deploy -c orderflow:chaos='{"fis_templates": true}'``.

This module is pure (no constructs): reading and checking the files, and turning their keys
(the FIS API's, camelCase) into the CloudFormation resource's properties.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aws_cdk import aws_fis as fis
from pydantic import Field, field_validator

from infra.sections import ConfigSection

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_FUNCTION = "aws:lambda:function"
LAMBDA_ACTIONS = frozenset(
    {
        "aws:lambda:invocation-error",
        "aws:lambda:invocation-add-delay",
        "aws:lambda:invocation-http-integration-response",
    }
)
"""AWS FIS's Lambda actions: the ones the deployed templates run (with ``aws:fis:wait``)."""
NATIVE_ACTIONS = LAMBDA_ACTIONS | {"aws:fis:wait"}
OFFLINE_PREFIX = "orderflow:"
"""Action ids of orderflow's own faults, served by the emulator kit only."""

_LAYER_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:"
    r"layer:aws-fis-extension-(?P<architecture>x86_64|arm64):\d+$"
)


class ChaosConfig(ConfigSection):
    """AWS FIS on a deployment: experiment templates from ``chaos/`` and what they need (the
    FIS Lambda extension on the functions they target, its configuration bucket, the
    experiment role). Off on every stage."""

    fis_templates: bool = False
    """The switch: deploy the FIS-native files of ``experiments_dir`` as experiment templates,
    with the extension layer and its configuration bucket. Off: the template has none of it.
    Never on the emulator (the layer is AWS's; offline, the kit's FIS serves the same files)."""

    experiments_dir: str = "chaos"
    """Where the experiment files are (``*.json``), relative to the repository's root."""

    extension_layer_arns: dict[str, str] | None = None
    """The FIS Lambda extension layer, by region (``{"eu-west-1": "arn:aws:lambda:eu-west-1:
    <AWS's account>:layer:aws-fis-extension-x86_64:<version>"}``): the publisher account and
    the version differ per region. None (the default): CloudFormation resolves it per region
    at deploy time from AWS's public parameter
    ``/aws/service/fis/lambda-extension/AWS-FIS-extension-<architecture>/1.x.x`` (the latest
    1.x); a map pins it (deploying to a region the map lacks then fails)."""

    extension_metrics: Literal["all", "none"] = "all"
    """``AWS_FIS_EXTENSION_METRICS``: ``all`` has the extension publish its EMF metrics
    (namespace ``aws-fis-extension``: faults injected, per function), the evidence of what an
    experiment did on AWS, as ``GET /_orderflow/fis/faults`` is offline."""

    slow_poll_interval_seconds: int = Field(default=10, ge=1, le=600)
    """``AWS_FIS_SLOW_POLL_INTERVAL_SECONDS``: how often an idle execution environment asks
    the bucket whether an experiment started. AWS's default (60 s) would let a 60-second
    experiment end before most environments notice it; 10 s bounds the ramp-up to a sixth of
    it, for one S3 request per environment every 10 s while the switch is on."""

    @field_validator("extension_layer_arns")
    @classmethod
    def _layer_arns_of_their_region(cls, arns: dict[str, str] | None) -> dict[str, str] | None:
        for region, arn in (arns or {}).items():
            match = _LAYER_ARN.match(arn)
            if match is None:
                raise ValueError(
                    f"{region}: {arn!r} is not an aws-fis-extension layer version ARN "
                    "(arn:aws:lambda:<region>:<account>:layer:aws-fis-extension-<arch>:<n>)"
                )
            if match["region"] != region:
                raise ValueError(f"{region}: the layer {arn} is in {match['region']}")
        return arns

    @property
    def directory(self) -> Path:
        return ROOT / self.experiments_dir


def layer_architecture(arn: str) -> str:
    """The architecture of an ``aws-fis-extension`` layer version ARN (``x86_64``, ``arm64``)."""
    match = _LAYER_ARN.match(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not an aws-fis-extension layer version ARN")
    return match["architecture"]


class ExperimentFileError(ValueError):
    """An experiment file that cannot be deployed; the message names the file and the field."""


@dataclass(frozen=True)
class Experiment:
    """One experiment file, checked.

    Attributes:
        name: the file's stem (``payment-errors``): the key of the stack's output.
        body: the file as the FIS API takes it.
        offline_only: some action is orderflow's own (``orderflow:...``): not deployed.
    """

    name: str
    body: dict[str, Any]
    offline_only: bool

    @property
    def description(self) -> str:
        return str(self.body["description"])

    @property
    def offline_actions(self) -> list[str]:
        return sorted(
            {
                action["actionId"]
                for action in self.body["actions"].values()
                if action["actionId"].startswith(OFFLINE_PREFIX)
            }
        )

    def lambda_targets(self) -> dict[str, dict[str, str]]:
        """The ``resourceTags`` of each ``aws:lambda:function`` target, by target name."""
        return {
            name: dict(target["resourceTags"])
            for name, target in self.body["targets"].items()
            if target["resourceType"] == LAMBDA_FUNCTION
        }


_ACCEPTED = {"description", "targets", "actions", "stopConditions", "tags", "experimentOptions"}
_IGNORED = {"roleArn", "clientToken"}
"""Keys of ``--cli-input-json`` a file may have and the stack decides instead: the role is
the stack's own, and CloudFormation makes the template (no client token)."""


def load_experiments(directory: Path) -> list[Experiment]:
    """Every ``*.json`` of ``directory``, by name, checked (``ExperimentFileError`` names the
    file and what is wrong)."""
    if not directory.is_dir():
        raise ExperimentFileError(f"chaos experiments directory {directory} does not exist")
    return [read_experiment(path) for path in sorted(directory.glob("*.json"))]


def read_experiment(path: Path) -> Experiment:
    try:
        body = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ExperimentFileError(f"{path.name}: not JSON ({error})") from None
    try:
        return check_experiment(path.stem, body)
    except ExperimentFileError as error:
        raise ExperimentFileError(f"{path.name}: {error}") from None


def check_experiment(name: str, body: Any) -> Experiment:
    """What CloudFormation needs of a file, and what the stack can deploy of it."""
    if not isinstance(body, dict):
        raise ExperimentFileError("an experiment is a JSON object")
    if unknown := set(body) - _ACCEPTED - _IGNORED:
        raise ExperimentFileError(f"unsupported keys {sorted(unknown)}")
    for key in ("description", "targets", "actions", "stopConditions"):
        if not body.get(key):
            raise ExperimentFileError(f"{key} is required")
    actions, targets = _objects(body, "actions"), _objects(body, "targets")
    conditions = body["stopConditions"]
    if not isinstance(conditions, list) or not all(
        isinstance(c, dict) and c.get("source") for c in conditions
    ):
        raise ExperimentFileError("stopConditions is a list of {source, value}")
    offline_only = False
    for action_name, action in actions.items():
        action_id = str(action.get("actionId", ""))
        if action_id.startswith(OFFLINE_PREFIX):
            offline_only = True
        elif action_id not in NATIVE_ACTIONS:
            raise ExperimentFileError(
                f"action {action_name}: {action_id!r} is neither one of orderflow's "
                f"({OFFLINE_PREFIX}...) nor an AWS FIS action the stack deploys "
                f"({', '.join(sorted(NATIVE_ACTIONS))})"
            )
        for target_name in dict(action.get("targets") or {}).values():
            if target_name not in targets:
                raise ExperimentFileError(
                    f"action {action_name}: target {target_name!r} is not in targets"
                )
    if not offline_only:
        for target_name, target in targets.items():
            _check_deployable_target(target_name, target)
    return Experiment(name=name, body=body, offline_only=offline_only)


def _objects(body: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    value = body[key]
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ExperimentFileError(f"{key} is an object of objects, by name")
    return value


def _check_deployable_target(name: str, target: dict[str, Any]) -> None:
    if target.get("resourceType") != LAMBDA_FUNCTION:
        raise ExperimentFileError(
            f"target {name}: resourceType {target.get('resourceType')!r}; the stack deploys "
            f"{LAMBDA_FUNCTION} targets only"
        )
    tags = target.get("resourceTags")
    if target.get("resourceArns") or not isinstance(tags, dict) or not tags:
        raise ExperimentFileError(
            f"target {name}: select the functions by resourceTags (orderflow:service, "
            "orderflow:function): ARNs differ per account and stage"
        )
    if target.get("filters"):
        raise ExperimentFileError(f"target {name}: filters are not supported")
    if not target.get("selectionMode"):
        raise ExperimentFileError(f"target {name}: selectionMode is required")


def template_properties(experiment: Experiment, *, confine: dict[str, str]) -> dict[str, Any]:
    """The ``CfnExperimentTemplate`` properties of ``experiment`` (all but the role): its
    keys as CloudFormation names them, every Lambda target's tags plus ``confine`` (the
    stack's mark on the functions it equipped with the extension)."""
    body = experiment.body
    targets = {
        name: fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
            resource_type=target["resourceType"],
            selection_mode=target["selectionMode"],
            resource_tags={**target["resourceTags"], **confine},
            parameters=target.get("parameters"),
        )
        for name, target in body["targets"].items()
    }
    actions = {
        name: fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
            action_id=action["actionId"],
            description=action.get("description"),
            parameters={key: str(value) for key, value in (action.get("parameters") or {}).items()}
            or None,
            targets=action.get("targets") or None,
            start_after=action.get("startAfter"),
        )
        for name, action in body["actions"].items()
    }
    stop_conditions = [
        fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(
            source=condition["source"], value=condition.get("value")
        )
        for condition in body["stopConditions"]
    ]
    options = body.get("experimentOptions")
    return {
        "description": experiment.description,
        "targets": targets,
        "actions": actions,
        "stop_conditions": stop_conditions,
        "tags": {
            **{key: str(value) for key, value in (body.get("tags") or {}).items()},
            "orderflow:experiment": experiment.name,
        },
        "experiment_options": (
            fis.CfnExperimentTemplate.ExperimentTemplateExperimentOptionsProperty(
                account_targeting=options.get("accountTargeting"),
                empty_target_resolution_mode=options.get("emptyTargetResolutionMode"),
            )
            if options
            else None
        ),
    }
