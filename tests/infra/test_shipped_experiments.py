"""The experiments shipped in ``chaos/`` (the runner's, ``orderflow chaos run``) synthesize as
``AWS::FIS::ExperimentTemplate`` with the stage's switch on: the FIS-native ones deployed, the
offline-only ones (``orderflow:...`` actions) left out."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Template

from tests.infra.conftest import synth_stacks
from tests.infra.helpers import resources

CHAOS = Path(__file__).resolve().parents[2] / "chaos"
NATIVE = {"payment-errors", "inventory-delay", "projector-errors"}


def test_the_shipped_fis_native_experiments_synthesize() -> None:
    context = {
        "orderflow:chaos": json.dumps({"fis_templates": True, "experiments_dir": str(CHAOS)})
    }
    template = Template.from_stack(synth_stacks(**context).product)
    deployed = {
        t["Properties"]["Tags"]["orderflow:experiment"]: t["Properties"]
        for t in resources(template, "AWS::FIS::ExperimentTemplate").values()
    }
    assert set(deployed) == NATIVE
    payment = deployed["payment-errors"]["Actions"]["payment-errors"]
    assert payment["ActionId"] == "aws:lambda:invocation-error"
    assert payment["Parameters"]["invocationPercentage"] == "30"
    delays = deployed["inventory-delay"]["Actions"]
    assert {a["Parameters"]["startupDelayMilliseconds"] for a in delays.values()} == {"11000"}
