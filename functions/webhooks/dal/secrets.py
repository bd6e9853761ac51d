"""The subscriptions' signing secrets in Secrets Manager, one secret per subscription named
``<prefix>/<subscriptionId>`` (``orderflow/<stage>/webhooks/<id>``), its value the JSON of
``SigningSecret``. The API writes them; the deliverer reads them through
``shared_kernel.secrets`` (Powertools Parameters, cached), again as soon as a subscription's
``secretVersion`` says the cached value is older than a rotation."""

from functools import cache
from typing import TYPE_CHECKING

import boto3

from shared_kernel.secrets import forget_secrets, secret_json
from webhooks.models import SigningSecret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


@cache
def secretsmanager() -> "SecretsManagerClient":
    return boto3.client("secretsmanager")


class SigningSecrets:
    def __init__(self, prefix: str, *, max_age: int) -> None:
        self._prefix = prefix.rstrip("/")
        self._max_age = max_age

    def name(self, subscription_id: str) -> str:
        return f"{self._prefix}/{subscription_id}"

    def create(self, subscription_id: str, secret: SigningSecret) -> None:
        secretsmanager().create_secret(
            Name=self.name(subscription_id),
            Description="orderflow: a webhook subscription's signing secret(s)",
            SecretString=secret.to_secret_string(),
        )

    def read(self, subscription_id: str) -> SigningSecret:
        value = secretsmanager().get_secret_value(SecretId=self.name(subscription_id))
        return SigningSecret.model_validate_json(value["SecretString"])

    def write(self, subscription_id: str, secret: SigningSecret) -> None:
        secretsmanager().put_secret_value(
            SecretId=self.name(subscription_id), SecretString=secret.to_secret_string()
        )

    def delete(self, subscription_id: str) -> None:
        """Delete the secret at once (its subscription is gone); one already gone is fine."""
        try:
            secretsmanager().delete_secret(
                SecretId=self.name(subscription_id), ForceDeleteWithoutRecovery=True
            )
        except secretsmanager().exceptions.ResourceNotFoundException:
            pass

    def for_signing(self, subscription_id: str, min_version: int) -> SigningSecret:
        name = self.name(subscription_id)
        secret = SigningSecret.model_validate(secret_json(name, max_age=self._max_age))
        if secret.version < min_version:  # rotated since it was cached
            forget_secrets()
            secret = SigningSecret.model_validate(secret_json(name, max_age=self._max_age))
        return secret
