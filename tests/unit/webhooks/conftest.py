"""moto tables, queues and secrets for the webhooks service, a receiver on 127.0.0.1 that
answers as a test tells it, and the service's environment as infra sets it."""

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

import webhooks.dal
import webhooks.handlers.api
import webhooks.handlers.deliver
from infra.contracts import WEBHOOK_EVENT_TYPES, WEBHOOK_REDACTED_FIELDS
from shared_kernel.secrets import forget_secrets
from tests.unit.domain_common.fixtures import (
    BUS_NAME,
    REGION,
    create_rate_limit_table,
    create_table,
)

SUBSCRIPTIONS_TABLE = "webhook-subscriptions-test"
DELIVERIES_TABLE = "webhook-deliveries-test"
SECRET_PREFIX = "orderflow/test/webhooks"
FAN_OUT_RULE = "webhooks-fan-out-test"
FAN_OUT_RULE_ARN = f"arn:aws:events:{REGION}:123456789012:rule/{BUS_NAME}/{FAN_OUT_RULE}"
SCHEDULE = {"base_seconds": 2, "factor": 5, "max_delay_seconds": 60, "max_attempts": 3}
WEBHOOK_ENV = {
    "WEBHOOK_SUBSCRIPTIONS_TABLE": SUBSCRIPTIONS_TABLE,
    "WEBHOOK_DELIVERIES_TABLE": DELIVERIES_TABLE,
    "WEBHOOK_SECRET_PREFIX": SECRET_PREFIX,
    "WEBHOOK_FAN_OUT_RULE_ARN": FAN_OUT_RULE_ARN,
    "WEBHOOK_EVENT_TYPES": json.dumps(list(WEBHOOK_EVENT_TYPES)),
    "WEBHOOK_REDACTED_FIELDS": json.dumps(list(WEBHOOK_REDACTED_FIELDS)),
    "WEBHOOK_ALLOW_LOOPBACK": "true",
    "WEBHOOK_ATTEMPT_TIMEOUT_SECONDS": "1",
    "WEBHOOK_RETRY_SCHEDULE": json.dumps(SCHEDULE),
    "WEBHOOK_DISABLE_AFTER_FAILURES": "4",
    "WEBHOOK_ROTATION_OVERLAP_SECONDS": "300",
    "WEBHOOK_SECRET_CACHE_SECONDS": "300",
}


def _reset() -> None:
    webhooks.dal.reset()
    webhooks.handlers.api.get_registry.cache_clear()
    webhooks.handlers.deliver.policy.cache_clear()
    forget_secrets()


@pytest.fixture(autouse=True)
def _fresh_webhooks(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(webhooks.handlers.deliver, "jitter", lambda: 0.0)  # retries at once
    for name, value in WEBHOOK_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBHOOK_DELIVERY_QUEUE_URL", "unset")
    monkeypatch.setenv("WEBHOOK_DLQ_URL", "unset")
    _reset()
    yield
    _reset()


class Queues:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.delivery_url = self.sqs.create_queue(QueueName="webhook-delivery")["QueueUrl"]
        self.dlq_url = self.sqs.create_queue(QueueName="webhook-dlq")["QueueUrl"]
        monkeypatch.setenv("WEBHOOK_DELIVERY_QUEUE_URL", self.delivery_url)
        monkeypatch.setenv("WEBHOOK_DLQ_URL", self.dlq_url)
        _reset()

    def _drain(self, url: str) -> list[dict[str, Any]]:
        found: list[Any] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def deliveries(self) -> list[dict[str, Any]]:
        """The delivery queue's messages (bodies), delays ignored (moto delivers at once)."""
        return [json.loads(m["Body"]) for m in self._drain(self.delivery_url)]

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.dlq_url)


@pytest.fixture
def queues(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Queues:
    create_table(SUBSCRIPTIONS_TABLE)
    create_table(DELIVERIES_TABLE)
    create_rate_limit_table()
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    events.put_rule(Name=FAN_OUT_RULE, EventBusName=BUS_NAME, EventPattern='{"source": ["x"]}')
    return Queues(monkeypatch)


def fan_out_rule_state() -> str:
    """ENABLED or DISABLED, as EventBridge (moto) has the fan-out's rule."""
    events = boto3.client("events", region_name=REGION)
    return events.describe_rule(Name=FAN_OUT_RULE, EventBusName=BUS_NAME)["State"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers ``statuses`` in turn (then 204), after
    ``delay`` seconds, recording every request."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    wait: Callable[[float], bool] | None = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    release = threading.Event()
    state.wait = release.wait

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.received.append(Received(dict(self.headers.items()), body, self.path))
            if state.delay:
                release.wait(state.delay)
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    release.set()
    server.shutdown()
    server.server_close()
