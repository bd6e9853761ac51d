"""LocalStack's calls to itself, without the client-side work nobody reads.

LocalStack makes about half of an order's requests to itself, through boto3 clients (event
sources receiving and deleting messages, Step Functions and event sources invoking functions,
EventBridge sending to queues, logs shipping). With ``IN_MEMORY_CLIENT`` such a request goes
straight into the gateway's handler chain, but botocore still prepares it as if it were going
to AWS. Two of those steps are pure cost (py-spy ``--gil`` of LocalStack at 3 orders/s: ~6% and
~2.5% of its samples):

- **SigV4 signing** (awscrt): the gateway never checks a signature. It reads the access key
  (the account) and the credential scope's region and service from the ``Authorization``
  header, so the header is written with exactly those and a placeholder signature;
- **the User-Agent**, rebuilt twice per request from the client's feature list: an internal
  client's is built once and kept.

Only clients whose endpoint is LocalStack's own gateway are changed, and never S3's (its
payload-signing headers decide how a body is read); a client with another endpoint (DynamoDB
Local, an external address) signs as before. A performance hook: answers are the same.
Declared in ``PATCHES`` and applied by ``startup.py`` after every patch's targets have been
checked (``patches.py``).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from orderflow_hostexec.patches import Patch, Target

SIGNED_AS_USUAL = frozenset({"s3", "s3control"})
PLACEHOLDER_SIGNATURE = "0" * 64


def authorization(access_key: str, stamp: datetime, region: str, service: str) -> str:
    """A SigV4-shaped ``Authorization`` value whose scope says who calls where."""
    scope = f"{access_key}/{stamp:%Y%m%d}/{region}/{service}/aws4_request"
    return (
        f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, "
        f"Signature={PLACEHOLDER_SIGNATURE}"
    )


class FixedUserAgent:
    """Stands in for a client's ``UserAgentString``: the string it built once."""

    def __init__(self, value: str) -> None:
        self._value = value

    def to_string(self) -> str:
        return self._value

    def rebuild_and_replace_user_agent_handler(self, **_kwargs: Any) -> None:
        """The header already holds the string."""


def lighten(client: Any, gateway_url: str | None) -> Any:
    """Make an internal client skip signing and User-Agent rebuilds, if it calls the gateway."""
    meta = client.meta
    service = meta.service_model.service_name
    if not gateway_url or meta.endpoint_url != gateway_url or service in SIGNED_AS_USUAL:
        return client
    service_id = meta.service_model.service_id.hyphenize()
    signing_name = meta.service_model.signing_name
    credentials = client._get_credentials()

    def unsigned(**_kwargs: Any) -> Any:
        import botocore

        return botocore.UNSIGNED

    def scope_header(request: Any, **_kwargs: Any) -> None:
        frozen = credentials.get_frozen_credentials()
        signing = request.context.get("signing", {})
        stamp = datetime.now(UTC)
        # the signer would have added Host (it is signed); LocalStack's proxies copy it
        request.headers["Host"] = urlsplit(request.url).netloc
        request.headers["X-Amz-Date"] = f"{stamp:%Y%m%dT%H%M%SZ}"
        if frozen.token:
            request.headers["X-Amz-Security-Token"] = frozen.token
        request.headers["Authorization"] = authorization(
            frozen.access_key,
            stamp,
            signing.get("region") or meta.region_name,
            signing.get("signing_name") or signing_name,
        )

    user_agent = client._user_agent_creator
    meta.events.unregister(
        f"request-created.{service_id}", user_agent.rebuild_and_replace_user_agent_handler
    )
    client._user_agent_creator = FixedUserAgent(user_agent.to_string())
    # first: botocore's own choose-signer handler answers "v4" for most operations
    meta.events.register_first(f"choose-signer.{service_id}", unsigned)
    meta.events.register(f"request-created.{service_id}", scope_header)
    return client


def light_internal_clients() -> None:
    from localstack.aws import connect

    post_hook = connect.InternalClientFactory._get_client_post_hook

    def lightened(self: Any, client: Any) -> Any:
        return lighten(post_hook(self, client), connect.get_service_endpoint())

    connect.InternalClientFactory._get_client_post_hook = lightened


def _botocore_keeps_what_lighten_replaces() -> str | None:
    """The client reads its User-Agent through ``_user_agent_creator`` and registers the
    rebuild on ``request-created``; the signer asks ``choose-signer`` for a version."""
    from botocore import client, signers

    expected = (
        (client.BaseClient, "_convert_to_request_dict", "self._user_agent_creator.to_string()"),
        (client.BaseClient, "_register_handlers", "rebuild_and_replace_user_agent_handler"),
        (client.BaseClient, "_get_credentials", "self._request_signer._credentials"),
        (signers.RequestSigner, "_choose_signer", "choose-signer."),
    )
    for owner, name, text in expected:
        if text not in inspect.getsource(getattr(owner, name)):
            return f"botocore's {owner.__name__}.{name} no longer uses {text}"
    return None


PATCHES = (
    Patch(
        name="internal-clients.unsigned",
        kind="performance",
        purpose="LocalStack's clients of its own gateway skip SigV4 signing and User-Agent "
        "rebuilds (the gateway reads only the credential scope)",
        targets=(
            Target(
                "localstack.aws.connect",
                "InternalClientFactory._get_client_post_hook",
                parameters=("self", "client"),
            ),
            Target("localstack.aws.connect", "get_service_endpoint", parameters=()),
        ),
        apply=light_internal_clients,
        check=_botocore_keeps_what_lighten_replaces,
    ),
)
