"""An internal client of the gateway sends the credential scope unsigned; others sign as usual
(emulator/hostexec/orderflow_hostexec/internal_clients.py)."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from orderflow_hostexec.internal_clients import PLACEHOLDER_SIGNATURE, lighten

GATEWAY = "http://127.0.0.1:4566"
SCOPE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>\w+)$"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self._body


def _client(service: str, endpoint: str, **credentials: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=credentials.get("key", "LSIAQAAAAAAVNCBMPNSG"),
        aws_secret_access_key="secret",
        aws_session_token=credentials.get("token"),
    )


def _sent(client: Any, call: str, body: bytes = b"{}", **params: Any) -> Any:
    """The request the client would send, answered with an empty success."""
    seen: list[Any] = []

    def capture(request: Any, **_kwargs: Any) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, 200, {}, _Raw(body))  # type: ignore[arg-type]

    client.meta.events.register_first("before-send", capture)
    getattr(client, call)(**params)
    return seen[0]


def test_a_gateway_client_sends_its_key_and_scope_with_a_placeholder_signature() -> None:
    # Given an SQS client of the gateway, made light
    client = lighten(_client("sqs", GATEWAY, token="session-token"), GATEWAY)

    # When it sends a request
    request = _sent(client, "list_queues")

    # Then the gateway can read the account's key, the region and the service from it
    scope = SCOPE.match(request.headers["Authorization"].decode())
    assert scope, request.headers["Authorization"]
    assert scope["key"] == "LSIAQAAAAAAVNCBMPNSG"
    assert (scope["region"], scope["service"]) == ("eu-west-1", "sqs")
    assert scope["sig"] == PLACEHOLDER_SIGNATURE
    assert request.headers["X-Amz-Date"].decode().startswith(scope["date"])
    assert request.headers["X-Amz-Security-Token"] == b"session-token"
    assert request.headers["Host"] == b"127.0.0.1:4566"  # what a signed request carries
    # and its User-Agent is the one the client built once (Powertools, installed here, may
    # append its own mark to every boto3 request)
    built = client._user_agent_creator.to_string()
    assert "Botocore/" in built
    assert request.headers["User-Agent"].decode().startswith(built)


def test_the_scope_names_the_signing_service_not_the_client_name() -> None:
    # Given a Step Functions client (its signing name is "states")
    client = lighten(_client("stepfunctions", GATEWAY), GATEWAY)

    request = _sent(client, "list_state_machines", b'{"stateMachines": []}')

    scope = SCOPE.match(request.headers["Authorization"].decode())
    assert scope and scope["service"] == "states"


@pytest.mark.parametrize(
    ("service", "endpoint", "call"),
    [
        ("sqs", "http://127.0.0.1:45123", "list_queues"),  # another endpoint (DynamoDB Local...)
        ("s3", GATEWAY, "list_buckets"),  # S3 reads its payload-signing headers
    ],
)
def test_other_clients_sign_as_usual(service: str, endpoint: str, call: str) -> None:
    client = lighten(_client(service, endpoint), GATEWAY)

    body = b"<ListAllMyBucketsResult/>" if service == "s3" else b"{}"
    request = _sent(client, call, body)

    scope = SCOPE.match(request.headers["Authorization"].decode())
    assert scope, request.headers["Authorization"]
    assert scope["sig"] != PLACEHOLDER_SIGNATURE


def test_a_light_request_carries_every_header_a_signed_one_does() -> None:
    # LocalStack's proxies copy a request by its headers (Host among them): none may be missing
    signed = _sent(_client("dynamodb", GATEWAY), "list_tables", b'{"TableNames": []}')
    light = _sent(lighten(_client("dynamodb", GATEWAY), GATEWAY), "list_tables", b"{}")

    assert {name.lower() for name in signed.headers} <= {name.lower() for name in light.headers}
