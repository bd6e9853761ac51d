"""In the template: the provider mode parameter, the breaker's settings,
the saga's retry of CircuitOpen, and the bulkheads (reserved concurrency, MaximumConcurrency)."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.contracts import CircuitOpen, ProviderUnavailable, error_names
from orders.logic.lifecycle import REASON_BY_ERROR
from tests.infra.conftest import synth, synth_stacks
from tests.infra.helpers import (
    function_ids_by_handler,
    function_statements,
    resources,
    state_machine_definition,
)

AUTHORIZE = "payments.handlers.authorize_payment.handler"
VOID = "payments.handlers.void_payment.handler"
GET_ORDER = "orders.handlers.get_order.handler"  # capped: long polls (infra/polling.py)
CONSUMERS = {
    "shipping.handlers.schedule_shipment.handler",
    "orders.handlers.projector.handler",
    "orders.handlers.catalogue.handler",
    "notifications.handlers.customer_notifier.handler",
    "notifications.handlers.audit_recorder.handler",
    "webhooks.handlers.fan_out.handler",
    "webhooks.handlers.deliver.handler",
    "payments.handlers.sandbox_callback.handler",
}


def functions(template: Template) -> dict[str, dict[str, Any]]:
    """Each function's properties, by handler."""
    found = resources(template, "AWS::Lambda::Function")
    return {
        handler: found[logical_id]["Properties"]
        for handler, logical_id in function_ids_by_handler(template).items()
    }


def sqs_mappings(template: Template) -> dict[str, dict[str, Any]]:
    """Each SQS event source mapping's properties, by the handler of its function."""
    handlers = {id_: handler for handler, id_ in function_ids_by_handler(template).items()}
    return {
        handlers[mapping["Properties"]["FunctionName"]["Ref"]]: mapping["Properties"]
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "Fn::GetAtt" in mapping["Properties"]["EventSourceArn"]
        and mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == "Arn"
        and "StartingPosition" not in mapping["Properties"]  # not a stream
    }


def reservations(template: Template) -> dict[str, int]:
    return {
        handler: props["ReservedConcurrentExecutions"]
        for handler, props in functions(template).items()
        if "ReservedConcurrentExecutions" in props
    }


def test_every_sqs_consumer_is_a_bulkhead_on_dev(template: Template) -> None:
    mappings = sqs_mappings(template)
    assert set(mappings) == CONSUMERS
    for handler, mapping in mappings.items():
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}, handler
    assert reservations(template) == {
        AUTHORIZE: 3,
        VOID: 2,
        GET_ORDER: 10,
        **dict.fromkeys(CONSUMERS, 2),
    }


def test_prod_reserves_more() -> None:
    template = synth(**{"orderflow:stage": "prod"})
    assert reservations(template) == {
        AUTHORIZE: 50,
        VOID: 10,
        GET_ORDER: 100,
        **dict.fromkeys(CONSUMERS, 10),
    }
    for mapping in sqs_mappings(template).values():
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": 10}


def test_an_account_too_small_to_reserve_deploys_without_reservations() -> None:
    # Given an account whose concurrency quota is 10 (a new AWS account)
    stacks = synth_stacks(**{"orderflow:resilience": '{"bulkheads": {"account_concurrency": 10}}'})
    template = Template.from_stack(stacks.product)
    # Then nothing is reserved (Lambda would refuse it: 100 must stay unreserved), it says so,
    # and the event sources still cap their concurrency
    assert reservations(template) == {}
    Annotations.from_stack(stacks.product).has_warning(
        "*",
        Match.string_like_regexp("reserved concurrency off: the stack would reserve 31 executions"),
    )
    assert all(m["ScalingConfig"] for m in sqs_mappings(template).values())


def test_reservations_can_be_switched_off() -> None:
    template = synth(**{"orderflow:resilience": '{"bulkheads": {"reserved_concurrency": false}}'})
    assert reservations(template) == {}
    assert len(sqs_mappings(template)) == len(CONSUMERS)


def test_the_provider_mode_parameter_is_created_up_and_read_by_authorize_only(
    template: Template,
) -> None:
    [(parameter_id, parameter)] = resources(
        template, "AWS::SSM::Parameter", "FulfilmentPayments"
    ).items()
    assert parameter["Properties"]["Name"] == "/orderflow/dev/payments/provider-mode"
    assert parameter["Properties"]["Value"] == "up"
    assert parameter["Properties"]["AllowedPattern"] == "^(up|down|slow)$"
    # the tags an orderflow:payments:provider-mode experiment selects it by, on any stage
    assert parameter["Properties"]["Tags"]["orderflow:service"] == "payments"
    assert parameter["Properties"]["Tags"]["orderflow:parameter"] == "provider-mode"
    ids = function_ids_by_handler(template)
    reads = [
        statement
        for statement in function_statements(template, ids[AUTHORIZE])
        if "ssm:GetParameter" in statement["Action"]
    ]
    assert reads, "AuthorizePayment cannot read its mode"
    assert json.dumps(parameter_id) in json.dumps(reads)
    for statement in function_statements(template, ids[VOID]):
        assert not any(str(action).startswith("ssm:") for action in statement["Action"])


def test_authorize_gets_the_stage_breaker_and_client_settings(template: Template) -> None:
    environment = functions(template)[AUTHORIZE]["Environment"]["Variables"]
    assert {
        name: environment[name]
        for name in (
            "PROVIDER_CALL_DEADLINE_MS",
            "PROVIDER_MODE_MAX_AGE_SECONDS",
            "BREAKER_FAILURE_THRESHOLD",
            "BREAKER_WINDOW_SECONDS",
            "BREAKER_COOLDOWN_SECONDS",
            "BREAKER_PROBE_LEASE_SECONDS",
        )
    } == {
        "PROVIDER_CALL_DEADLINE_MS": "1500",
        "PROVIDER_MODE_MAX_AGE_SECONDS": "2",
        "BREAKER_FAILURE_THRESHOLD": "3",
        "BREAKER_WINDOW_SECONDS": "10",
        "BREAKER_COOLDOWN_SECONDS": "5",
        "BREAKER_PROBE_LEASE_SECONDS": "15",
    }
    # the deadline is well below the step's own timeout: a slow call fails fast
    assert (
        int(environment["PROVIDER_CALL_DEADLINE_MS"])
        <= functions(template)[AUTHORIZE]["Timeout"] * 1000 / 4
    )
    assert "PROVIDER_MODE_PARAMETER" in environment


def test_the_saga_retries_an_open_circuit_then_cancels(template: Template) -> None:
    state = state_machine_definition(template, "FulfilmentSaga")["States"]["AuthorizePayment"]
    [_throttle, retry] = state["Retry"]
    assert {"ProviderUnavailable", "CircuitOpen"} <= set(retry["ErrorEquals"])
    assert retry["MaxAttempts"] == 5
    assert any(rule["Next"] == "VoidPayment" for rule in state["Catch"])
    for name in error_names(ProviderUnavailable, CircuitOpen):
        assert REASON_BY_ERROR[name] == "PAYMENT_UNAVAILABLE"


@pytest.mark.parametrize(
    "overrides",
    [
        {"bulkheads": {"queue_consumer": 2, "max_concurrency": 5}},
        {"bulkheads": {"max_concurrency": 1}},
        {"breaker": {"probe_lease_seconds": 1}},
        {"breaker": {"failure_threshold": 0}},
        {"provider": {"call_deadline_ms": 20_000}},
        {"bulkheads": {"typo": 3}},
    ],
)
def test_inconsistent_resilience_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeploymentConfig(resilience=json.dumps(overrides))


def test_overrides_merge_into_the_stage_defaults() -> None:
    config = DeploymentConfig(stage="prod", resilience={"breaker": {"failure_threshold": 7}})
    assert config.resilience.breaker.failure_threshold == 7
    assert config.resilience.breaker.cooldown_seconds == 15  # prod's, kept
    assert config.resilience.bulkheads.authorize_payment == 50
