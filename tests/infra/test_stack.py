"""The synthesised ``Orderflow`` template: the project's rules, checked on every resource."""

from aws_cdk.assertions import Match, Template

from tests.infra.helpers import (
    DLQ_RETENTION_SECONDS,
    arn_target,
    as_list,
    dead_letter_queue_ids,
    policy_statements,
    resources,
    state_machine_definition,
)

SKELETON = "Skeleton"
"""Logical ids of the skeleton's resources start with its construct id."""

PROVIDER_FRAMEWORK_HANDLER = "framework.onEvent"
"""The CDK custom-resource provider's own (Node.js) function: not a ServiceFunction."""

STABLE_OUTPUTS = {
    "ApiId",
    "ApiUrl",
    "TableName",
    "BusName",
    "PingDlqUrl",
    "WorkQueueUrl",
    "WorkDlqUrl",
    "TopicArn",
    "FanoutQueueUrl",
    "FanoutDlqUrl",
    "StateMachineArn",
    "ApiFunctionName",
    "PingFunctionName",
    "WorkerFunctionName",
    "GreeterFunctionName",
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
    # the skeleton's work queue, fan-out queue and rule target each have their own DLQ
    assert len({name for name in dlqs if name.startswith(SKELETON)}) == 3


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


def test_work_queue_redrives_after_two_receives_and_outlasts_the_worker(
    template: Template,
) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping", SKELETON).values()
    queue_id = arn_target(mapping["Properties"]["EventSourceArn"])
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    worker = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]

    assert queue["RedrivePolicy"]["maxReceiveCount"] == 2
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_every_function_follows_the_lambda_defaults(template: Template) -> None:
    [layer_id] = resources(template, "AWS::Lambda::LayerVersion")
    functions = [
        function["Properties"]
        for function in resources(template, "AWS::Lambda::Function").values()
        if function["Properties"]["Handler"] != PROVIDER_FRAMEWORK_HANDLER
    ]
    # the skeleton's 4, and the fulfilment services' 17
    assert len(functions) == 21

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
    assert len(log_groups) == 23
    assert all(group["Properties"]["RetentionInDays"] == 14 for group in log_groups.values())


def test_skeleton_handlers_point_into_the_skeleton_package(template: Template) -> None:
    handlers = {
        function["Properties"]["Handler"]
        for function in resources(template, "AWS::Lambda::Function", SKELETON).values()
    }
    assert handlers == {
        "skeleton.handlers.api.handler",
        "skeleton.handlers.ping.handler",
        "skeleton.handlers.worker.handler",
        "skeleton.handlers.greeter.handler",
    }


def test_table_has_pk_on_demand_billing_and_a_stream(template: Template) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            },
            # dev is disposable; see test_config.py for prod
            "DeletionPolicy": "Delete",
        },
    )


def test_api_has_the_item_routes_on_stage_prod(template: Template) -> None:
    [stage] = resources(template, "AWS::ApiGateway::Stage", SKELETON).values()
    assert stage["Properties"]["StageName"] == "prod"
    methods = resources(template, "AWS::ApiGateway::Method", SKELETON).values()
    assert sorted(method["Properties"]["HttpMethod"] for method in methods) == ["GET", "POST"]
    paths = {
        r["Properties"]["PathPart"]
        for r in resources(template, "AWS::ApiGateway::Resource", SKELETON).values()
    }
    assert paths == {"items", "{id}"}


def test_event_source_mapping_reports_batch_item_failures(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def test_ping_rule_matches_ping_sent_on_the_stage_bus_with_dlq_and_retries(
    template: Template,
) -> None:
    [bus_id] = resources(template, "AWS::Events::EventBus")
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "orderflow-dev"})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": bus_id},
            "EventPattern": {"source": ["orderflow.skeleton"], "detail-type": ["PingSent"]},
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": 2,
                            "MaximumEventAgeInSeconds": 3600,
                        },
                    }
                )
            ],
        },
    )


def test_topic_delivers_raw_messages_to_a_queue(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "sqs", "RawMessageDelivery": True}
    )


def test_state_machine_greets_with_one_lambda_task_then_succeeds(template: Template) -> None:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", SKELETON).values()
    properties = machine["Properties"]
    definition = state_machine_definition(template, SKELETON)
    greet = definition["States"]["Greet"]
    functions = resources(template, "AWS::Lambda::Function")
    greeter = next(
        name
        for name, function in functions.items()
        if function["Properties"]["Handler"] == "skeleton.handlers.greeter.handler"
    )

    assert properties["StateMachineType"] == "STANDARD"
    assert definition["StartAt"] == "Greet"
    assert greet["Type"] == "Task"
    # payload_response_only: the task calls the function directly, not the lambda:invoke API
    assert greet["Resource"] == f"<{greeter}.Arn>"
    assert "Lambda.ServiceException" in greet["Retry"][0]["ErrorEquals"]
    assert definition["States"][greet["Next"]] == {"Type": "Succeed"}


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


def test_outputs_have_stable_names(template: Template) -> None:
    assert set(template.find_outputs("*")) >= STABLE_OUTPUTS
