"""Resource types LocalStack's CloudFormation has no provider for, served by the kit.

Without a provider such a resource deploys as a silent no-op. One hook on
``ResourceProviderExecutor.try_load_resource_provider`` answers every type registered with
``serve`` (``archive.py``: ``AWS::Events::Archive``; ``dashboards.py``:
``AWS::CloudWatch::Dashboard``; ``xray/cloudformation.py``: ``AWS::XRay::SamplingRule``) and
leaves every other type to LocalStack. ``TARGETS`` is what the hook and the providers need of
LocalStack; a patch that serves a type lists them.
"""

from __future__ import annotations

import functools
from typing import Any

from orderflow_hostexec.patches import Target

RESOURCE_PROVIDER = "localstack.services.cloudformation.resource_provider"
TARGETS = (
    Target(RESOURCE_PROVIDER, "ResourceProviderExecutor", shape="class"),
    Target(
        RESOURCE_PROVIDER,
        "ResourceProviderExecutor.try_load_resource_provider",
        parameters=("resource_type",),
    ),
    Target(RESOURCE_PROVIDER, "ResourceProvider", shape="class"),
    Target(RESOURCE_PROVIDER, "ProgressEvent", shape="class"),
    Target(RESOURCE_PROVIDER, "OperationStatus", shape="class"),
)

_PROVIDERS: dict[str, type] = {}


def serve(resource_type: str, provider_class: type) -> None:
    """CloudFormation deploys ``resource_type`` with ``provider_class`` (a LocalStack
    ``ResourceProvider``), instead of LocalStack's provider or none."""
    _install_hook()
    _PROVIDERS[resource_type] = provider_class


@functools.cache  # once: every served type goes through the same hook
def _install_hook() -> None:
    from localstack.services.cloudformation.resource_provider import ResourceProviderExecutor

    original = ResourceProviderExecutor.try_load_resource_provider

    def try_load_resource_provider(resource_type: str) -> Any:
        provider_class = _PROVIDERS.get(resource_type)
        return provider_class() if provider_class else original(resource_type)

    ResourceProviderExecutor.try_load_resource_provider = staticmethod(try_load_resource_provider)
