"""The dev signing key's storage: the private key set in a Secrets Manager secret (written
here, never logged), the public JWKS in an SSM parameter (what the API functions read)."""

import json
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient


class KeyStore:
    def __init__(self, secret_name: str, parameter_name: str) -> None:
        self._secret_name = secret_name
        self._parameter_name = parameter_name
        self._secrets: SecretsManagerClient = boto3.client("secretsmanager")
        self._ssm: SSMClient = boto3.client("ssm")

    def private_value(self) -> str | None:
        """The secret's current value (None if it has none yet)."""
        try:
            value = self._secrets.get_secret_value(SecretId=self._secret_name)
        except self._secrets.exceptions.ResourceNotFoundException:
            return None
        return value.get("SecretString")

    def save_private(self, private_keys: list[dict[str, Any]]) -> None:
        self._secrets.put_secret_value(
            SecretId=self._secret_name, SecretString=json.dumps({"keys": private_keys})
        )

    def publish(self, jwks: dict[str, Any]) -> None:
        self._ssm.put_parameter(
            Name=self._parameter_name, Value=json.dumps(jwks), Type="String", Overwrite=True
        )
