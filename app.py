#!/usr/bin/env python3
"""The CDK app: ``cdk synth`` / ``cdk deploy`` run this file (see cdk.json).

Choose the stage with ``-c orderflow:stage=<stage>`` or ``ORDERFLOW_STAGE`` (default ``dev``).
The stacks (``Orderflow``, and outside prod ``OrderflowBench``: see ``infra/app.py``) are
environment-agnostic: the same templates deploy to any account and region, and to the emulator.
"""

import aws_cdk as cdk

from infra.app import build_app

if __name__ == "__main__":
    app = cdk.App()
    build_app(app)
    app.synth()
