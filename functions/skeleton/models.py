"""Pydantic models of the skeleton's requests, events, messages and records."""

from datetime import datetime

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import BaseModel, Field, Json

# --- API (path a) ---


class CreateItemRequest(BaseModel):
    """Body of ``POST /items``."""

    name: str = Field(min_length=1, max_length=200)


class Item(BaseModel):
    """An item as stored and as returned by the API."""

    id: str
    name: str


# --- Events (path b) ---


class PingDetail(BaseModel):
    """``detail`` of a ``PingSent`` event (source ``orderflow.skeleton``)."""

    message: str = Field(default="", max_length=1000)


class PingSentEvent(EventBridgeModel):
    """A ``PingSent`` event as delivered by EventBridge to a Lambda target."""

    detail: PingDetail


class Ping(BaseModel):
    """What is recorded about a received ``PingSent`` event."""

    event_id: str
    source: str
    detail_type: str
    message: str
    sent_at: datetime


# --- Jobs (path c) ---


class JobMessage(BaseModel):
    """Body of a message on the work queue. ``fail`` makes the job fail (to exercise the DLQ)."""

    id: str = Field(min_length=1)
    fail: bool = False


class JobRecord(SqsRecordModel):
    """An SQS record whose body is a ``JobMessage``."""

    body: Json[JobMessage]


# --- Workflow (path e) ---


class GreetRequest(BaseModel):
    """Input of the ``Greet`` task."""

    name: str = Field(min_length=1, max_length=200)


class Greeting(BaseModel):
    """Output of the ``Greet`` task, and of the workflow."""

    greeting: str
