"""Synthesises the stack the way ``cdk synth`` does, minus bundling (no pip, no network)."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.config import DeploymentConfig
from infra.stack import OrderflowStack

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def synth(**context: Any) -> Template:
    """The template of the ``Orderflow`` stack, with cdk.json's feature flags and ``context``.

    The empty ``aws:cdk:bundling-stacks`` list tells CDK to bundle no stack: assets keep their
    custom hashes, but pip and the code copy never run.
    """
    flags = json.loads(CDK_JSON.read_text())["context"]
    app = cdk.App(context={**flags, "aws:cdk:bundling-stacks": [], **context})
    stack = OrderflowStack(app, "Orderflow", config=DeploymentConfig.from_context(app.node))
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def template() -> Template:
    """The default (``dev``) stack's template, synthesised once per test session."""
    return synth()
