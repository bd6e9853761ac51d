"""Synthesises the app the way ``cdk synth`` does, minus bundling (no pip, no network)."""

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import Stacks, build_app, offline_app


def synth_stacks(**context: Any) -> Stacks:
    """The app's stacks, with cdk.json's feature flags and ``context``, checked by cdk-nag.

    The empty ``aws:cdk:bundling-stacks`` list tells CDK to bundle no stack: assets keep their
    custom hashes, but pip and the code copy never run.
    """
    return build_app(offline_app(**context))


def synth(**context: Any) -> Template:
    """The template of the ``Orderflow`` stack (see ``synth_stacks``)."""
    return Template.from_stack(synth_stacks(**context).product)


@pytest.fixture(scope="session")
def stacks() -> Stacks:
    """The default (``dev``) app, synthesised once per test session."""
    return synth_stacks()


@pytest.fixture(scope="session")
def template(stacks: Stacks) -> Template:
    """The default (``dev``) ``Orderflow`` template."""
    return Template.from_stack(stacks.product)


@pytest.fixture(scope="session")
def bench_template(stacks: Stacks) -> Template:
    """The default (``dev``) ``OrderflowBench`` template."""
    assert stacks.bench is not None
    return Template.from_stack(stacks.bench)
