"""The app's stacks, and a synth of them that needs no network.

* ``Orderflow`` (``infra/stack.py``): the product; ``make deploy`` deploys it alone.
* ``OrderflowBench`` (``infra/bench_stack.py``): what the benchmarks add (the baseline API),
  outside prod only (``DeploymentConfig.has_bench_stack``); ``make bench`` deploys it.

Every stack is checked by cdk-nag (``infra/nag.py``) whenever the app is synthesised.

``python -m infra.app <outdir>`` writes every stack's template to ``<outdir>`` as ``cdk synth``
does (the context of ``cdk.json``), but bundles no asset (no pip, no network, seconds):
``make lint`` runs cfn-lint on them.
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra import nag
from infra.bench_stack import OrderflowBenchStack
from infra.config import DeploymentConfig
from infra.stack import OrderflowStack

PRODUCT_STACK = "Orderflow"
BENCH_STACK = "OrderflowBench"
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


@dataclass(frozen=True)
class Stacks:
    product: OrderflowStack
    bench: OrderflowBenchStack | None


def build_app(app: cdk.App) -> Stacks:
    """Adds the stacks, configured from the app's context, to ``app``; checks them with
    cdk-nag."""
    config = DeploymentConfig.from_context(app.node)
    product = OrderflowStack(app, PRODUCT_STACK, config=config)
    bench = (
        OrderflowBenchStack(
            app,
            BENCH_STACK,
            config=config,
            products=product.fulfilment.inventory.table,
            api_keys=product.fulfilment.api.access.keys,
        )
        if config.has_bench_stack
        else None
    )
    nag.check(app)
    return Stacks(product=product, bench=bench)


def offline_app(outdir: str | None = None, **context: Any) -> cdk.App:
    """An app with ``cdk.json``'s context (feature flags) and ``context`` that bundles no asset:
    assets keep their custom hashes, but pip and the code copies never run."""
    flags = json.loads(CDK_JSON.read_text())["context"]
    return cdk.App(context={**flags, "aws:cdk:bundling-stacks": [], **context}, outdir=outdir)


if __name__ == "__main__":
    app = offline_app(sys.argv[1])
    build_app(app)
    app.synth()
