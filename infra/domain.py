"""What the order-fulfilment services share: their tables' shape and their functions' bundle.

Every domain table is keyed ``pk`` (S) + ``sk`` (S), billed on demand, removed with the stage
(kept in prod) and continuously backed up in prod only (PITR costs per GB; a dev stage's data
is disposable). Every domain function is a
``ServiceFunction``, bundled with ``functions/shared_kernel/``.
"""

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambda_defaults import (
    DEFAULT_TIMEOUT,
    SHARED_PACKAGES,
    FunctionDefaults,
    ServiceFunction,
)
from infra.nag import suppress

API_PACKAGES = (*SHARED_PACKAGES, "edge")
"""What a service with API routes bundles: ``functions/edge/`` (rate limiting, request limits,
error responses) next to ``functions/shared_kernel/``."""


def domain_table(
    scope: Construct,
    id: str,
    *,
    config: DeploymentConfig,
    stream: dynamodb.StreamViewType | None = None,
    time_to_live_attribute: str | None = None,
) -> dynamodb.Table:
    """A ``pk``/``sk`` table; ``stream`` turns on its DynamoDB stream (none by default),
    ``time_to_live_attribute`` DynamoDB's expiry of items (none by default)."""
    table = dynamodb.Table(
        scope,
        id,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=stream,
        time_to_live_attribute=time_to_live_attribute,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=config.point_in_time_recovery
        ),
        removal_policy=config.removal_policy,
    )
    if not config.point_in_time_recovery:
        suppress_backups(table, "a disposable stage's data, removed with the stage")
    return table


def suppress_backups(table: dynamodb.Table, reason: str) -> None:
    """No point-in-time recovery for ``table`` (cdk-nag AwsSolutions-DDB3), because of
    ``reason``: what it holds is not worth restoring."""
    suppress(table, "AwsSolutions-DDB3", f"no point-in-time recovery: {reason}")


class DomainFunctions:
    """Makes the Lambda functions of one domain service.

    ``functions("PlaceOrder", "place_order", "POST /orders")`` is a ``ServiceFunction`` with
    handler ``<service>.handlers.place_order.handler``, the service's environment, bundled with
    ``functions/shared_kernel/``; it returns the Lambda function to grant permissions to.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        service: str,
        defaults: FunctionDefaults,
        environment: Mapping[str, str],
        shared_packages: Sequence[str] = SHARED_PACKAGES,
    ) -> None:
        """
        Args:
            scope: the service's construct; function ids are unique within it.
            service: folder under ``functions/`` (``orders``, ``inventory``, ...).
            defaults: the stack's shared config and layer.
            environment: the service's settings (table names, ``EVENT_BUS_NAME``, ...).
            shared_packages: packages under ``functions/`` bundled with every function of the
                service (``API_PACKAGES`` for a service with API routes).
        """
        self._shared_packages = tuple(shared_packages)
        self._scope = scope
        self._service = service
        self._defaults = defaults
        self._environment = environment

    def __call__(
        self, id: str, module: str, description: str, *, timeout: Duration = DEFAULT_TIMEOUT
    ) -> lambda_.Function:
        """The function in ``functions/<service>/handlers/<module>.py``."""
        return ServiceFunction(
            self._scope,
            id,
            service=self._service,
            handler=f"{self._service}.handlers.{module}.handler",
            defaults=self._defaults,
            timeout=timeout,
            environment=self._environment,
            description=f"{self._service}: {description}",
            shared_packages=self._shared_packages,
        ).function
