"""A chaos experiment file: what ``aws fis create-experiment-template --cli-input-json`` takes
(``description``, ``targets``, ``actions``, ``stopConditions``, ``roleArn``, ``tags``, ...).
Checked here only as far as the runner needs it (FIS itself validates the rest when the
template is created); pure, so the unit tests drive it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED_TAG = "orderflow:seed"
TEMPLATE_FIELDS = frozenset(
    {
        "clientToken",
        "description",
        "stopConditions",
        "targets",
        "actions",
        "roleArn",
        "tags",
        "logConfiguration",
        "experimentOptions",
        "experimentReportConfiguration",
    }
)
_DURATION = re.compile(r"^PT(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?$")


class ExperimentFileError(ValueError):
    """The file is not an experiment template the runner can start; the message says why."""


@dataclass(frozen=True)
class Experiment:
    name: str  # the file's stem: the key of the stack's ChaosExperimentTemplates output
    template: dict[str, Any]

    @property
    def action_ids(self) -> dict[str, str]:
        return {name: str(action["actionId"]) for name, action in self.template["actions"].items()}

    @property
    def duration_s(self) -> float:
        """How long its faults last: the longest chain of actions (``startAfter``)."""
        actions = self.template["actions"]
        ends: dict[str, float] = {}

        def end(name: str, seen: frozenset[str]) -> float:
            if name in ends:
                return ends[name]
            if name in seen:
                raise ExperimentFileError(f"actions: startAfter makes a cycle through {name}")
            action = actions[name]
            start = max(
                (end(before, seen | {name}) for before in action.get("startAfter", [])),
                default=0.0,
            )
            ends[name] = start + parse_duration(action.get("parameters", {}).get("duration"))
            return ends[name]

        return max(end(name, frozenset()) for name in actions)

    def with_seed(self, seed: int) -> dict[str, Any]:
        """The template as CreateExperimentTemplate takes it, tagged with the run's seed."""
        template = dict(self.template)
        template["tags"] = {**template.get("tags", {}), SEED_TAG: str(seed)}
        return template


def parse_duration(value: Any) -> float:
    """An ISO 8601 duration as FIS takes them (``PT1M``, ``PT30S``), in seconds."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ExperimentFileError(
            f"duration must be an ISO 8601 duration such as PT1M or PT30S, got {value!r}"
        )
    return int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)


def load(path: Path) -> Experiment:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ExperimentFileError(f"{path}: no such file") from None
    except OSError as error:
        raise ExperimentFileError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        template = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExperimentFileError(f"{path} is not JSON: {error}") from None
    return Experiment(path.stem, validate(str(path), template))


def validate(source: str, template: Any) -> dict[str, Any]:
    if not isinstance(template, dict):
        raise ExperimentFileError(f"{source}: an experiment template is a JSON object")
    if unknown := sorted(set(template) - TEMPLATE_FIELDS):
        raise ExperimentFileError(
            f"{source}: unknown field(s) {', '.join(unknown)} "
            f"(create-experiment-template takes {', '.join(sorted(TEMPLATE_FIELDS))})"
        )
    for name in ("actions", "targets", "stopConditions", "roleArn"):
        if name not in template:
            raise ExperimentFileError(f"{source}: missing {name}")
    actions = template["actions"]
    if not isinstance(actions, dict) or not actions:
        raise ExperimentFileError(f"{source}: actions must be a non-empty object")
    for name, action in actions.items():
        if not isinstance(action, dict) or not isinstance(action.get("actionId"), str):
            raise ExperimentFileError(f"{source}: action {name} has no actionId")
        try:
            parse_duration(action.get("parameters", {}).get("duration"))
        except ExperimentFileError as error:
            raise ExperimentFileError(f"{source}: action {name}: {error}") from None
        for before in action.get("startAfter", []):
            if before not in actions:
                raise ExperimentFileError(f"{source}: action {name} starts after {before}, unknown")
    if not isinstance(template["targets"], dict):
        raise ExperimentFileError(f"{source}: targets must be an object")
    return template
