"""CloudWatch dashboards from CloudFormation, as on AWS (behaviour fix ``cloudwatch.dashboard-
resource``).

LocalStack 2026.3 serves ``PutDashboard``, ``GetDashboard``, ``ListDashboards`` and
``DeleteDashboards``, but its CloudFormation has no ``AWS::CloudWatch::Dashboard`` provider: the
stack's dashboard deployed as a no-op (an unsupported type is skipped), and ``GetDashboard``
for the ``DashboardName`` output answered ``ResourceNotFound``. This adds one: create and
update through ``PutDashboard``, delete through ``DeleteDashboards``, ``Ref`` the name.

Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``); it wraps whatever ``try_load_resource_provider`` is by then (the
archive's wrapper included).
"""

from __future__ import annotations

import contextlib
from typing import Any

from orderflow_hostexec import cloudformation_resources
from orderflow_hostexec.patches import Patch

DASHBOARD_TYPE = "AWS::CloudWatch::Dashboard"

DASHBOARD_SCHEMA: dict[str, Any] = {
    "typeName": DASHBOARD_TYPE,
    "properties": {
        "DashboardName": {"type": "string"},
        "DashboardBody": {"type": "string"},
    },
    "required": ["DashboardBody"],
    "createOnlyProperties": ["/properties/DashboardName"],
    "primaryIdentifier": ["/properties/DashboardName"],
}


def _dashboard_provider_class() -> type:
    from localstack.services.cloudformation.resource_provider import (
        OperationStatus,
        ProgressEvent,
        ResourceProvider,
    )
    from localstack.utils.strings import short_uid

    class DashboardProvider(ResourceProvider):
        TYPE = DASHBOARD_TYPE
        SCHEMA = DASHBOARD_SCHEMA

        def create(self, request: Any) -> Any:
            model = request.desired_state
            model.setdefault("DashboardName", f"{request.logical_resource_id[:200]}-{short_uid()}")
            request.aws_client_factory.cloudwatch.put_dashboard(
                DashboardName=model["DashboardName"], DashboardBody=model["DashboardBody"]
            )
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def read(self, request: Any) -> Any:
            raise NotImplementedError

        def update(self, request: Any) -> Any:
            model = request.desired_state
            model["DashboardName"] = request.previous_state["DashboardName"]
            request.aws_client_factory.cloudwatch.put_dashboard(
                DashboardName=model["DashboardName"], DashboardBody=model["DashboardBody"]
            )
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

        def delete(self, request: Any) -> Any:
            client = request.aws_client_factory.cloudwatch
            with contextlib.suppress(Exception):  # already gone: nothing to delete
                client.delete_dashboards(DashboardNames=[request.previous_state["DashboardName"]])
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})

    return DashboardProvider


def provide_dashboard_resource() -> None:
    cloudformation_resources.serve(DASHBOARD_TYPE, _dashboard_provider_class())


PATCHES = (
    Patch(
        name="cloudwatch.dashboard-resource",
        kind="behaviour",
        purpose="CloudFormation creates, updates and deletes AWS::CloudWatch::Dashboard",
        targets=(*cloudformation_resources.TARGETS,),
        apply=provide_dashboard_resource,
    ),
)
