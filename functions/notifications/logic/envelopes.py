"""Finds the CloudEvent inside an SQS message body (no I/O).

The topic's subscription may or may not use raw message delivery, and the EventBridge rule
that feeds the topic may send the whole EventBridge event or only its `detail` (InputPath
`$.detail`). All four shapes are accepted:

  raw delivery OFF:  SNS envelope {"Type": "Notification", "Message": "<json>", ...}
  raw delivery ON:   the message itself
  message:           an EventBridge event {"detail-type", "source", "detail": CloudEvent}
                     or the CloudEvent itself {"specversion": "1.0", ...}
"""

import json
from typing import Any

from shared_kernel.cloudevents import CloudEvent, from_eventbridge, parse_cloud_event
from shared_kernel.errors import MalformedEventError


def cloud_event_from_sqs_body(body: str) -> CloudEvent:
    payload = _json(body, "body")
    if isinstance(payload, dict) and payload.get("Type") == "Notification":
        if not isinstance(payload.get("Message"), str):
            raise MalformedEventError("Message", "SNS notification without a message")
        payload = _json(payload["Message"], "Message")
    if isinstance(payload, dict) and "detail-type" in payload:
        return from_eventbridge(payload)
    if isinstance(payload, dict) and "specversion" in payload:
        return parse_cloud_event(payload)
    raise MalformedEventError("body", "neither an EventBridge event nor a CloudEvent")


def _json(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedEventError(field, f"not JSON ({exc.msg})") from exc
