"""What the order-fulfilment services share: their tables' shape and their functions' bundle.

Every domain table is keyed ``pk`` (S) + ``sk`` (S), billed on demand, removed with the stage
(kept in prod) and continuously backed up in prod. Every domain function is a
``ServiceFunction`` bundled with ``functions/shared_kernel/`` (and not ``functions/common/``).
"""

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambda_defaults import DEFAULT_TIMEOUT, FunctionDefaults, ServiceFunction

DOMAIN_PACKAGES = ("shared_kernel",)
"""Packages under ``functions/`` bundled with every domain service's code."""


def domain_table(
    scope: Construct,
    id: str,
    *,
    config: DeploymentConfig,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    """A ``pk``/``sk`` table; ``stream`` turns on its DynamoDB stream (none by default)."""
    return dynamodb.Table(
        scope,
        id,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=stream,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=config.point_in_time_recovery
        ),
        removal_policy=config.removal_policy,
    )


def domain_function(
    scope: Construct,
    id: str,
    *,
    service: str,
    handler: str,
    defaults: FunctionDefaults,
    environment: Mapping[str, str],
    description: str,
    timeout: Duration = DEFAULT_TIMEOUT,
) -> lambda_.Function:
    """A ``ServiceFunction`` of a domain service; returns its Lambda function.

    Args:
        service: folder under ``functions/`` (``orders``, ``inventory``, ...).
        handler: dotted path from ``functions/``, e.g. ``orders.handlers.place_order.handler``.
        environment: the service's settings (table names, ``EVENT_BUS_NAME``, ...).
        description: shown in the Lambda console.
        timeout: function timeout (10 s by default).
    """
    return ServiceFunction(
        scope,
        id,
        service=service,
        handler=handler,
        defaults=defaults,
        timeout=timeout,
        environment=environment,
        description=description,
        shared_packages=DOMAIN_PACKAGES,
    ).function
