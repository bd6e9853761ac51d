"""The stage's secrets in Secrets Manager: named ``orderflow/<stage>/<purpose>``.

Functions get a secret's *name* in their environment and read its value at run time through
Powertools Parameters (``functions/shared_kernel/secrets.py``), granted with
``secret.grant_read(function)`` (or ``grant_write`` for the one function that rotates it):
never a value in an environment variable, a stack output or a template.
"""

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import DeploymentConfig
from infra.nag import suppress

PREFIX = "orderflow"


def secret_name(config: DeploymentConfig, purpose: str) -> str:
    """``orderflow/<stage>/<purpose>``: the name a function is given to read the secret by."""
    return f"{PREFIX}/{config.stage}/{purpose}"


def stage_secret(
    scope: Construct,
    id: str,
    *,
    config: DeploymentConfig,
    purpose: str,
    description: str,
    generate: secretsmanager.SecretStringGenerator | None = None,
    rotation: str,
) -> secretsmanager.Secret:
    """A secret of the stage, named ``orderflow/<stage>/<purpose>``.

    Args:
        generate: how CloudFormation generates its value; none: a function writes it (and is
            granted ``grant_write``).
        rotation: how the secret is rotated (cdk-nag's AwsSolutions-SMG4 asks for automatic
            rotation; the reason it is not is recorded with the suppression).
    """
    secret = secretsmanager.Secret(
        scope,
        id,
        secret_name=secret_name(config, purpose),
        description=description,
        generate_secret_string=generate,
        removal_policy=config.removal_policy,
    )
    suppress(secret, "AwsSolutions-SMG4", rotation)
    return secret
