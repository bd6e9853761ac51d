"""The synthesised ``Orderflow`` template: the project's rules, checked on every resource."""

from aws_cdk.assertions import Template

from tests.infra.helpers import (
    DLQ_RETENTION_SECONDS,
    as_list,
    dead_letter_queue_ids,
    policy_statements,
    resources,
)

PROVIDER_FRAMEWORK_HANDLER = "framework.onEvent"
"""The CDK custom-resource provider's own (Node.js) function: not a ServiceFunction."""

STABLE_OUTPUTS = {
    "BusName",
    "OrdersApiId",
    "OrdersApiUrl",
    "OrdersTableName",
    "ProductsTableName",
    "PaymentsTableName",
    "SagaStateMachineArn",
    "MalformedEventsQueueUrl",
    "AuditQueueUrl",
    "AuditDlqUrl",
    "SeedProductsFunctionName",
}


def test_every_queue_but_a_dlq_has_a_redrive_policy(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    dlqs = dead_letter_queue_ids(template)

    without_redrive = {
        name
        for name, queue in queues.items()
        if name not in dlqs and "RedrivePolicy" not in queue["Properties"]
    }
    assert without_redrive == set()


def test_dead_letter_queues_keep_messages_14_days(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    for name in dead_letter_queue_ids(template):
        assert queues[name]["Properties"]["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS


def test_every_queue_enforces_tls(template: Template) -> None:
    secured = {
        queue["Ref"]
        for policy in resources(template, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }
    assert secured == set(resources(template, "AWS::SQS::Queue"))


def test_every_topic_enforces_tls(template: Template) -> None:
    secured = {
        topic["Ref"]
        for policy in resources(template, "AWS::SNS::TopicPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for topic in policy["Properties"]["Topics"]
    }
    assert secured == set(resources(template, "AWS::SNS::Topic"))


def test_every_function_follows_the_lambda_defaults(template: Template) -> None:
    [layer_id] = resources(template, "AWS::Lambda::LayerVersion")
    functions = [
        function["Properties"]
        for function in resources(template, "AWS::Lambda::Function").values()
        if function["Properties"]["Handler"] != PROVIDER_FRAMEWORK_HANDLER
    ]
    # the fulfilment services' (the benchmark's baseline is in OrderflowBench)
    assert len(functions) == 27  # webhooks' three, identity's two, payments' three new

    for properties in functions:
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == ["x86_64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["MemorySize"] == 256
        assert {"Ref": layer_id} in properties["Layers"]
        assert "LogGroup" in properties["LoggingConfig"]
        environment = properties["Environment"]["Variables"]
        # the service's folder under functions/ is the first part of the handler's path
        assert environment["POWERTOOLS_SERVICE_NAME"] == properties["Handler"].split(".")[0]
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "orderflow"
        assert environment["LOG_LEVEL"] == "INFO"


def test_function_log_groups_have_a_retention(template: Template) -> None:
    log_groups = resources(template, "AWS::Logs::LogGroup")
    # one per function (the provider framework's included) and the saga's
    assert len(log_groups) == 30  # webhooks' 3, identity's 3, payments' 3 new
    assert all(group["Properties"]["RetentionInDays"] == 14 for group in log_groups.values())


def test_every_event_source_mapping_reports_batch_item_failures(template: Template) -> None:
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mappings
    for mapping in mappings:
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_no_policy_allows_a_wildcard_action(template: Template) -> None:
    offending = [
        (name, action)
        for name, statement in policy_statements(template)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if "*" in action
    ]
    assert offending == []


def test_identity_policies_have_no_wildcard_action_at_all(template: Template) -> None:
    # Resource policies may *deny* sqs:* (enforce_ssl); IAM identity policies never use wildcards.
    offending = [
        (name, action)
        for name, statement in policy_statements(template, identity_only=True)
        for action in as_list(statement["Action"])
        if "*" in action
    ]
    assert offending == []


WITHOUT_RESOURCE_LEVEL_PERMISSIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "dynamodb:ListStreams",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
"""Actions IAM cannot scope to a resource: the only ones granted on ``*`` (what the cdk-nag
suppressions of ``AwsSolutions-IAM5`` on ``Resource::*`` say)."""


def test_only_actions_without_resource_level_permissions_are_granted_on_any_resource(
    template: Template,
) -> None:
    offending = [
        (name, action)
        for name, statement in policy_statements(template, identity_only=True)
        if statement["Effect"] == "Allow" and statement["Resource"] == "*"
        for action in as_list(statement["Action"])
        if action not in WITHOUT_RESOURCE_LEVEL_PERMISSIONS
    ]
    assert offending == []


def test_outputs_have_stable_names(template: Template) -> None:
    assert set(template.find_outputs("*")) >= STABLE_OUTPUTS
