#!/usr/bin/env python3
"""The CDK app: ``cdk synth`` / ``cdk deploy`` run this file (see cdk.json).

Choose the stage with ``-c orderflow:stage=<stage>`` or ``ORDERFLOW_STAGE`` (default ``dev``).
The stack is environment-agnostic: the same template deploys to any account and region, and to
the emulator.
"""

import aws_cdk as cdk

from infra.config import DeploymentConfig
from infra.stack import OrderflowStack


def build_app(app: cdk.App) -> OrderflowStack:
    """Adds the ``Orderflow`` stack, configured from the app's context, to ``app``."""
    return OrderflowStack(app, "Orderflow", config=DeploymentConfig.from_context(app.node))


if __name__ == "__main__":
    app = cdk.App()
    build_app(app)
    app.synth()
