"""The sandbox provider's side: its queue of confirmations to send later, and its HTTP call of
the merchant's webhook."""

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING

import boto3

from payments.models import ProviderConfirmation

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_EXECUTE_API = re.compile(r"^https://(?P<api>[a-z0-9]+)\.execute-api\.[^/]+/(?P<path>.*)$")


class ConfirmationQueue:
    """``schedule_confirmation`` of the sandbox provider: one SQS message per confirmation,
    delayed ``delay_seconds`` (SQS allows up to 900)."""

    def __init__(self, queue_url: str, delay_seconds: int, sqs: "SQSClient | None" = None) -> None:
        self._queue_url = queue_url
        self._delay_seconds = delay_seconds
        self._sqs = sqs or boto3.client("sqs")

    def __call__(self, confirmation: ProviderConfirmation) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(asdict(confirmation)),
            DelaySeconds=self._delay_seconds,
        )


def reachable_url(url: str, endpoint: str | None) -> str:
    """The stage URL CloudFormation reports (``https://<api>.execute-api.<region>.<suffix>/...``)
    as the caller can reach it: unchanged on AWS; on the emulator (``endpoint`` set), its
    execute-api path, which needs no DNS."""
    found = _EXECUTE_API.match(url)
    if endpoint is None or found is None:
        return url
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{found['api']}/{found['path']}"


def post(url: str, body: str, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST ``body``; the answer's status code (an HTTP error's too)."""
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
