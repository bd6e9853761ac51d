"""Outgoing webhooks' infrastructure: the rule feeds the fan-out only the subscribable event
types, every queue has a DLQ (and the deliverer's joins the DLQ alarms), grants are scoped
(the secrets by their name prefix, nothing on every secret), the numbers come from the
stage's config, and no secret value is anywhere in the template."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.config import DeploymentConfig
from infra.contracts import SOURCE_PREFIX, WEBHOOK_EVENT_TYPES
from tests.infra.conftest import synth
from tests.infra.helpers import (
    arn_target,
    as_list,
    function_ids_by_handler,
    function_statements,
    render_join,
    resources,
)

API = "webhooks.handlers.api.handler"
FAN_OUT = "webhooks.handlers.fan_out.handler"
DELIVER = "webhooks.handlers.deliver.handler"
SECRETS_ARN = "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"


def output_ref(template: Template, name: str) -> str:
    value = template.find_outputs(name)[name]["Value"]
    return value["Ref"] if "Ref" in value else arn_target(value)


def variables(template: Template, handler: str) -> dict[str, Any]:
    function_id = function_ids_by_handler(template)[handler]
    function = resources(template, "AWS::Lambda::Function")[function_id]
    return dict(function["Properties"]["Environment"]["Variables"])


def secret_statements(template: Template, handler: str) -> list[dict[str, Any]]:
    function_id = function_ids_by_handler(template)[handler]
    return [
        statement
        for statement in function_statements(template, function_id)
        if any(action.startswith("secretsmanager:") for action in as_list(statement["Action"]))
    ]


def test_the_rule_sends_the_subscribable_orderflow_events_to_the_fan_out_queue(
    template: Template,
) -> None:
    queue = output_ref(template, "WebhookEventsDlqUrl")
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == list(WEBHOOK_EVENT_TYPES)
    ]
    assert rule["EventPattern"]["source"] == [{"prefix": SOURCE_PREFIX}]
    [target] = rule["Targets"]
    assert arn_target(target["DeadLetterConfig"]["Arn"]) == queue
    [mapping] = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_ids_by_handler(template)[FAN_OUT]}
    ]
    assert arn_target(mapping["EventSourceArn"]) == arn_target(target["Arn"])
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_only_the_api_and_the_fan_out_may_switch_the_fan_out_rule_and_only_that_rule(
    template: Template,
) -> None:
    [rule_id] = [
        rule_id
        for rule_id, r in resources(template, "AWS::Events::Rule").items()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == list(WEBHOOK_EVENT_TYPES)
    ]
    rule = resources(template, "AWS::Events::Rule")[rule_id]["Properties"]
    assert rule["State"] == "ENABLED"  # as deployed; the functions switch it (logic/gate.py)

    def switches(handler: str) -> list[str]:
        actions = []
        for statement in function_statements(template, function_ids_by_handler(template)[handler]):
            rule_actions = [a for a in as_list(statement["Action"]) if a.endswith("Rule")]
            if rule_actions:
                assert arn_target(statement["Resource"]) == rule_id  # one resource: the rule
                actions += rule_actions
        return sorted(actions)

    assert switches(API) == ["events:EnableRule"]
    assert switches(FAN_OUT) == ["events:DisableRule", "events:EnableRule"]
    assert switches(DELIVER) == []
    for handler in (API, FAN_OUT):
        assert arn_target(variables(template, handler)["WEBHOOK_FAN_OUT_RULE_ARN"]) == rule_id


def test_the_delivery_queue_has_a_dlq_the_deliverer_may_send_to_and_an_alarm(
    template: Template,
) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    delivery, dlq = (output_ref(template, n) for n in ("WebhookDeliveryQueueUrl", "WebhookDlqUrl"))
    assert arn_target(queues[delivery]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) == dlq
    assert variables(template, DELIVER)["WEBHOOK_DLQ_URL"] == {"Ref": dlq}
    sent_to = {
        arn_target(resource)
        for statement in function_statements(template, function_ids_by_handler(template)[DELIVER])
        if "sqs:SendMessage" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert sent_to == {delivery, dlq}
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert "orderflow-dev-dlq-webhooks-delivery" in alarms
    assert "orderflow-dev-dlq-webhooks-events" in alarms


def test_secrets_are_granted_by_the_webhooks_name_prefix_only(template: Template) -> None:
    [api] = secret_statements(template, API)
    [deliverer] = secret_statements(template, DELIVER)
    assert render_join(api["Resource"]) == f"{SECRETS_ARN}orderflow/dev/webhooks/*"
    assert render_join(deliverer["Resource"]) == f"{SECRETS_ARN}orderflow/dev/webhooks/*"
    assert sorted(as_list(api["Action"])) == [
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
    ]
    assert as_list(deliverer["Action"]) == ["secretsmanager:GetSecretValue"]
    assert secret_statements(template, FAN_OUT) == []
    for handler in function_ids_by_handler(template):
        for statement in secret_statements(template, handler):
            assert statement["Resource"] != "*", handler


def test_the_functions_get_names_and_numbers_never_secret_values(template: Template) -> None:
    deliverer = variables(template, DELIVER)
    assert deliverer["WEBHOOK_SECRET_PREFIX"] == "orderflow/dev/webhooks"
    assert deliverer["WEBHOOK_ALLOW_LOOPBACK"] == "true"
    assert deliverer["WEBHOOK_ATTEMPT_TIMEOUT_SECONDS"] == "3"
    assert json.loads(deliverer["WEBHOOK_RETRY_SCHEDULE"]) == {
        "base_seconds": 2.0,
        "factor": 5.0,
        "max_delay_seconds": 60.0,
        "max_attempts": 5,
    }
    assert "whsec_" not in json.dumps(template.to_json())
    assert json.loads(variables(template, API)["WEBHOOK_EVENT_TYPES"]) == list(WEBHOOK_EVENT_TYPES)


def test_the_deliverer_outlasts_one_attempt_and_its_queue_outlasts_it(template: Template) -> None:
    function_id = function_ids_by_handler(template)[DELIVER]
    timeout = resources(template, "AWS::Lambda::Function")[function_id]["Properties"]["Timeout"]
    queue = resources(template, "AWS::SQS::Queue")[output_ref(template, "WebhookDeliveryQueueUrl")]
    assert timeout >= 3 + 10
    assert queue["Properties"]["VisibilityTimeout"] == 6 * timeout


def test_prod_allows_no_loopback_and_retries_over_hours() -> None:
    config = DeploymentConfig(stage="prod").webhooks
    assert not config.allow_loopback
    assert (config.retry.base_seconds, config.retry.max_attempts) == (60, 8)
    assert config.attempt_timeout_seconds == 10
    dev = DeploymentConfig(stage="dev").webhooks
    assert dev.allow_loopback and dev.retry.base_seconds == 2 and dev.retry.factor == 5
    template = synth(**{"orderflow:stage": "prod"})
    assert variables(template, DELIVER)["WEBHOOK_ALLOW_LOOPBACK"] == "false"


def test_webhook_settings_are_validated_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        DeploymentConfig(webhooks='{"retry": {"max_attempts": 0}}')
    assert refused.value.errors()[0]["loc"] == ("webhooks", "retry", "max_attempts")
    overridden = DeploymentConfig(stage="dev", webhooks='{"attempt_timeout_seconds": 5}').webhooks
    assert (overridden.attempt_timeout_seconds, overridden.allow_loopback) == (5, True)
