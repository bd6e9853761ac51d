"""cdk-nag: the rule packs every stack of the app is checked against, and how a finding is
suppressed.

``check(app)`` adds the ``AwsSolutions`` and ``Serverless`` packs as aspects: every synth (``cdk
synth``, ``cdk deploy``, the infra tests) reports each unsuppressed finding as an error or
warning annotation, and ``tests/infra/test_nag.py`` requires none. A finding is fixed where
fixing is right (queues enforce TLS, every queue and subscription has a DLQ, logs have a
retention). Otherwise the construct that causes it suppresses it with ``suppress``: on the one
resource (or the one finding, with ``applies_to``), with the reason it does not apply.
"""

from collections.abc import Sequence

import cdk_nag
from aws_cdk import Aspects
from constructs import IConstruct

BASIC_EXECUTION_ROLE = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)

ANY_FUNCTION_VERSION = cdk_nag.RegexAppliesTo(regex=r"/^Resource::<[A-Za-z0-9]+\.Arn>:\*$/g")
"""``<function ARN>:*``: the versions and aliases of a function, which CDK grants along with the
function whenever it grants ``lambda:InvokeFunction``."""


def check(scope: IConstruct) -> None:
    """Check everything under ``scope`` (the app) with the AwsSolutions and Serverless packs."""
    Aspects.of(scope).add(cdk_nag.AwsSolutionsChecks(reports=False))
    Aspects.of(scope).add(cdk_nag.ServerlessChecks(reports=False))


def suppress(
    construct: IConstruct,
    rule: str,
    reason: str,
    *,
    applies_to: Sequence[str | cdk_nag.RegexAppliesTo] = (),
) -> None:
    """Suppress ``rule`` on ``construct`` (its CloudFormation resource), for ``reason``.

    Args:
        applies_to: only these findings of the rule (``Resource::*``,
            ``Policy::arn:<AWS::Partition>:iam::aws:policy/...``); every finding if empty.
    """
    suppression = cdk_nag.NagPackSuppression(
        id=rule, reason=reason, applies_to=list(applies_to) or None
    )
    cdk_nag.NagSuppressions.add_resource_suppressions(construct, [suppression])


def suppress_lambda_role(
    role: IConstruct, reason: str, *, applies_to: Sequence[str | cdk_nag.RegexAppliesTo] = ()
) -> None:
    """The execution role of a Lambda function: its basic execution policy (AWS managed: write
    to CloudWatch Logs) and, in its default policy (which must exist), the wildcard resources
    of ``applies_to`` (``Resource::*`` of X-Ray's actions, which take no resource)."""
    suppress(
        role,
        "AwsSolutions-IAM4",
        "AWSLambdaBasicExecutionRole, CDK's default for a function: CloudWatch Logs writes only",
        applies_to=[BASIC_EXECUTION_ROLE],
    )
    if applies_to:
        suppress(default_policy(role), "AwsSolutions-IAM5", reason, applies_to=applies_to)


def default_policy(role: IConstruct) -> IConstruct:
    """The policy CDK attaches to ``role`` for its grants (``<role>/DefaultPolicy``)."""
    return role.node.find_child("DefaultPolicy")
