"""shared_kernel.secrets on moto's Secrets Manager: values are read, cached for max_age, and
errors name the secret but never carry a value."""

from collections.abc import Iterator

import boto3
import pytest

from shared_kernel.secrets import SecretUnavailable, forget_secrets, secret_json, secret_string


@pytest.fixture
def secrets(mocked_aws: None) -> Iterator[object]:
    forget_secrets()
    yield boto3.client("secretsmanager")
    forget_secrets()


def test_reads_a_string_and_a_json_secret(secrets: object) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(Name="orderflow/test/plain", SecretString="s3cr3t")
    client.create_secret(Name="orderflow/test/json", SecretString='{"apiKey": "k-1"}')

    assert secret_string("orderflow/test/plain") == "s3cr3t"
    assert secret_json("orderflow/test/json") == {"apiKey": "k-1"}


def test_caches_until_max_age_and_forget_drops_the_cache(secrets: object) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(Name="orderflow/test/rotating", SecretString="v1")
    assert secret_string("orderflow/test/rotating", max_age=300) == "v1"
    client.put_secret_value(SecretId="orderflow/test/rotating", SecretString="v2")

    assert secret_string("orderflow/test/rotating", max_age=300) == "v1"
    forget_secrets()
    assert secret_string("orderflow/test/rotating", max_age=300) == "v2"


def test_a_missing_secret_is_named_in_the_error(secrets: object) -> None:
    with pytest.raises(SecretUnavailable, match="orderflow/test/missing"):
        secret_string("orderflow/test/missing")


@pytest.mark.parametrize("value", ["not json", "[1, 2]"])
def test_json_secret_of_the_wrong_shape_is_refused_without_its_value(
    secrets: object, value: str
) -> None:
    boto3.client("secretsmanager").create_secret(Name="orderflow/test/odd", SecretString=value)
    with pytest.raises(SecretUnavailable) as caught:
        secret_json("orderflow/test/odd")
    assert value not in str(caught.value)
