"""cdk-nag (AwsSolutions and Serverless packs) finds nothing unsuppressed in any stack of the
app, in dev and in prod: every finding is fixed or suppressed with its reason where it arises
(``infra/nag.py``)."""

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from infra.app import build_app, offline_app

NAG_RULE = Match.string_like_regexp(r"^(AwsSolutions|Serverless)-")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_nag_reports_no_error_and_no_warning(stage: str, tmp_path: Path) -> None:
    # Given the app of the stage, checked by cdk-nag (build_app adds its rule packs)
    app = offline_app(outdir=str(tmp_path), **{"orderflow:stage": stage})
    stacks = build_app(app)

    # When it is synthesised: CDK turns error and warning annotations into a failed validation
    try:
        app.synth()
        failed = None
    except RuntimeError as error:
        failed = error

    # Then there are none
    report = tmp_path / "validation-report.json"
    findings = [
        f"{construct['constructPath']}: {violation['description'].strip()}"
        for plugin in (json.loads(report.read_text())["pluginReports"] if report.exists() else [])
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert findings == []
    assert failed is None
    # (and whatever the validation flags of cdk.json say, no nag annotation at all)
    for stack in (stacks.product, stacks.bench):
        if stack is not None:
            annotations = Annotations.from_stack(stack)
            assert annotations.find_error("*", NAG_RULE) == []
            assert annotations.find_warning("*", NAG_RULE) == []
