"""AWS FIS offline: the API (``provider.py``, a LocalStack service from the entry point
``localstack.aws.provider`` ``fis:default``), the pure rules (``model.py``) and the faults of
running experiments that the host executor applies to invocations (``faults.py``).

Declared as the kit patch ``kit.fis`` (registry.py): its targets are what the provider and
the target resolution rely on inside LocalStack; applying it adds
``GET /_orderflow/fis/faults`` (the faults injected, per experiment and action).
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec.fis.faults import BOARD, FAULTS_PATH
from orderflow_hostexec.patches import Patch, Target, provider_installed

ENTRY_POINT = "orderflow_hostexec.fis.provider:fis_provider"


def _serve_faults(request: Any, **kwargs: Any) -> dict[str, Any]:
    return BOARD.report()


def register_faults_endpoint() -> None:
    from localstack.services.edge import ROUTER

    ROUTER.add(FAULTS_PATH, endpoint=_serve_faults, methods=["GET"])


_LAMBDA = "localstack.services.lambda_.invocation"

PATCHES = (
    Patch(
        name="kit.fis",
        kind="kit",
        purpose=(
            "AWS FIS served offline (Lambda actions applied by the host executor, "
            "orderflow:... actions of our own); "
            f"GET {FAULTS_PATH} counts the faults injected"
        ),
        targets=(
            Target("localstack.services.plugins", "aws_provider"),
            Target("localstack.services.plugins", "Service.for_provider"),
            Target("localstack.services.plugins", "ServiceLifecycleHook", shape="class"),
            Target("localstack.aws.api", "handler"),
            Target("localstack.aws.api", "CommonServiceException", shape="class"),
            Target(f"{_LAMBDA}.models", "lambda_stores", shape="object"),
            Target(f"{_LAMBDA}.lambda_models", "VersionIdentifier.unqualified_arn"),
            Target("localstack.utils.tagging", "Tags.get_tags"),
            Target("localstack.services.edge", "ROUTER.add"),
            # orderflow:payments:provider-mode writes SSM parameters through it (parameters.py)
            Target("localstack.aws.connect", "connect_to"),
        ),
        apply=register_faults_endpoint,
        check=provider_installed("fis", ENTRY_POINT),
    ),
)
