"""CloudFormation custom resource (CDK ``custom_resources.Provider`` onEvent): the stage's dev
signing key.

* Create / Update: make sure the secret ``SIGNING_KEY_SECRET_NAME`` holds a private key set
  (an EC P-256 key generated the first time; kept on every later deployment) and publish its
  public JWKS to ``JWKS_PARAMETER``. The key never leaves the secret: not in the response, not
  in the logs (only its ``kid``, which is public).
* Delete: no-op; the secret goes with the stage (its removal policy).

Returns {"PhysicalResourceId", "Data": {"Kid"}}.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from identity.dal import get_key_store
from identity.logic.keys import ensure_signing_key
from identity.settings import get_settings
from shared_kernel.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_type = event["RequestType"]
    physical_id = (
        event.get("PhysicalResourceId") or f"dev-signing-key-{get_settings().jwks_parameter}"
    )
    if request_type == "Delete":
        logger.info("delete: the secret goes with the stage")
        return {"PhysicalResourceId": physical_id}
    if request_type not in ("Create", "Update"):
        raise ValueError(f"unsupported RequestType {request_type!r}")
    kid, generated = ensure_signing_key(get_key_store())
    logger.info("dev signing key ready", extra={"kid": kid, "generated": generated})
    return {"PhysicalResourceId": physical_id, "Data": {"Kid": kid}}
