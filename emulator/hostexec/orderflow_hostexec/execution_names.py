"""Behaviour fix: a rule's Step Functions target starts each execution under a new name, as on
EventBridge.

LocalStack 2026.3 names the execution a rule starts after the event's id
(``StatesTargetSender.send_event``). On AWS the name is generated for each delivery, so a
duplicate delivery of one event (EventBridge is at-least-once; ``orderflow:events:duplicate-
delivery`` makes it happen offline) starts a second execution of the state machine, and the
workflow must guard itself: orderflow's saga claims its order in its first state
(``SagaAlreadyStarted``). With LocalStack's names the duplicate was silently folded into the
first execution (``StartExecution`` with a running execution's name and input returns it) or,
once that had ended, refused with ``ExecutionAlreadyExists`` and sent to the rule's DLQ: the
guard was never exercised offline, and a redrive could not start the workflow again.

The fix passes a fresh name (a UUID, the shape EventBridge's generated names have) to
``StartExecution``; everything else LocalStack does for the target (input, retries, DLQ
through ``event_delivery``) is unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from orderflow_hostexec.patches import Patch, Target

_TARGET = "localstack.services.events.target"


def generated_execution_names() -> None:
    from localstack.services.events.target import StatesTargetSender

    def send_event(self: Any, event: Any, trace_header: Any) -> None:
        self.service = "stepfunctions"
        self.client.start_execution(
            stateMachineArn=self.target["Arn"],
            name=str(uuid.uuid4()),
            input=_json(event),
        )

    StatesTargetSender.send_event = send_event


def _json(event: Any) -> str:
    from localstack.services.events.utils import to_json_str

    return str(to_json_str(event))


PATCHES = (
    Patch(
        name="events.sfn-target-execution-names",
        kind="behaviour",
        purpose=(
            "a rule's Step Functions target names each execution afresh, as on EventBridge "
            "(a duplicate delivery starts a second execution)"
        ),
        targets=(
            Target(_TARGET, "StatesTargetSender", shape="class"),
            Target(
                _TARGET,
                "StatesTargetSender.send_event",
                parameters=("self", "event", "trace_header"),
            ),
            Target("localstack.services.events.utils", "to_json_str"),
        ),
        apply=generated_execution_names,
    ),
)
