"""GET /.well-known/jwks.json: the stage's public signing keys (JWKS, RFC 7517), no API key,
for anyone who verifies the stage's customer tokens. Cached by clients for
``IDENTITY_JWKS_MAX_AGE_SECONDS`` (``Cache-Control``); during a key rotation it lists both keys.
"""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from edge.dal import get_signing_keys
from edge.dal.keys import ParameterKeys
from edge.http import api_resolver, json_content, response_header
from edge.middleware import api_handler
from edge.settings import get_identity_settings
from identity.models import Jwks

router = Router()


@router.get(
    "/.well-known/jwks.json",
    summary="The stage's public signing keys",
    description="The JSON Web Key Set that verifies customer tokens issued by this stage "
    "(`orderflow token` on dev). No API key needed.",
    tags=["identity"],
    responses={
        200: {
            "description": "The key set",
            "content": json_content(Jwks),
            "headers": {"Cache-Control": response_header("`public, max-age=<seconds>`")},
        },
    },
    security=[],
)
def jwks() -> Response[dict[str, Any]]:
    keys = get_signing_keys()
    assert isinstance(keys, ParameterKeys), "an external issuer publishes its own keys"
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=Jwks.model_validate(keys.jwks()).model_dump(mode="json", exclude_none=True),
        headers={
            "Cache-Control": f"public, max-age={get_identity_settings().jwks_max_age_seconds}"
        },
    )


app = api_resolver(router)
handler = api_handler(app)
