"""The synthesised ``Orderflow`` template: the project's rules, checked on every resource."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk.assertions import Match, Template

DLQ_RETENTION_SECONDS = 14 * 24 * 3600

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


def resources(template: Template, type_: str) -> Mapping[str, Any]:
    return template.find_resources(type_)


def arn_target(arn: Any) -> str:
    """The logical id behind ``{"Fn::GetAtt": [id, "Arn"]}``."""
    return arn["Fn::GetAtt"][0]


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that some queue or rule target uses as its dead-letter queue."""
    ids = {
        arn_target(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    for rule in resources(template, "AWS::Events::Rule").values():
        ids |= {
            arn_target(target["DeadLetterConfig"]["Arn"])
            for target in rule["Properties"]["Targets"]
            if "DeadLetterConfig" in target
        }
    return ids


def test_every_queue_but_a_dlq_has_a_redrive_policy(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    dlqs = dead_letter_queue_ids(template)

    without_redrive = {
        name
        for name, queue in queues.items()
        if name not in dlqs and "RedrivePolicy" not in queue["Properties"]
    }
    assert without_redrive == set()
    # the work queue, the fan-out queue and the rule target each have their own DLQ
    assert len(dlqs) == 3


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
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()
    queue_id = arn_target(mapping["Properties"]["EventSourceArn"])
    queue = resources(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    worker = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]

    assert queue["RedrivePolicy"]["maxReceiveCount"] == 2
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_every_function_follows_the_lambda_defaults(template: Template) -> None:
    [layer_id] = resources(template, "AWS::Lambda::LayerVersion")
    functions = resources(template, "AWS::Lambda::Function")
    assert len(functions) == 4

    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == ["x86_64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["MemorySize"] == 256
        assert {"Ref": layer_id} in properties["Layers"]
        assert "LogGroup" in properties["LoggingConfig"]
        environment = properties["Environment"]["Variables"]
        assert environment["POWERTOOLS_SERVICE_NAME"] == "skeleton"
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "orderflow"
        assert environment["LOG_LEVEL"] == "INFO"


def test_function_log_groups_have_a_retention(template: Template) -> None:
    log_groups = resources(template, "AWS::Logs::LogGroup")
    assert len(log_groups) == 4
    assert all(group["Properties"]["RetentionInDays"] == 14 for group in log_groups.values())


def test_handlers_point_into_the_service_package(template: Template) -> None:
    handlers = {
        function["Properties"]["Handler"]
        for function in resources(template, "AWS::Lambda::Function").values()
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
    template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "prod"})
    methods = resources(template, "AWS::ApiGateway::Method").values()
    assert sorted(method["Properties"]["HttpMethod"] for method in methods) == ["GET", "POST"]
    paths = {
        r["Properties"]["PathPart"]
        for r in resources(template, "AWS::ApiGateway::Resource").values()
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
    [machine] = resources(template, "AWS::StepFunctions::StateMachine").values()
    properties = machine["Properties"]
    definition = json.loads(render_join(properties["DefinitionString"]))
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


# --- helpers ---


def policy_statements(
    template: Template, *, identity_only: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (resource name, statement) of the IAM and resource policies in the template."""
    documents: list[tuple[str, dict[str, Any]]] = []
    for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents += [
            (name, r["Properties"]["PolicyDocument"])
            for name, r in resources(template, type_).items()
        ]
    for name, role in resources(template, "AWS::IAM::Role").items():
        documents += [(name, p["PolicyDocument"]) for p in role["Properties"].get("Policies", [])]
    if not identity_only:
        for type_ in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            documents += [
                (name, r["Properties"]["PolicyDocument"])
                for name, r in resources(template, type_).items()
            ]
    for name, document in documents:
        for statement in document["Statement"]:
            yield name, statement


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def render_join(value: dict[str, Any]) -> str:
    """Flattens ``Fn::Join`` into a string; ``Fn::GetAtt [id, attr]`` becomes ``<id.attr>``."""
    separator, parts = value["Fn::Join"]
    rendered = [
        part if isinstance(part, str) else "<{}.{}>".format(*part["Fn::GetAtt"]) for part in parts
    ]
    return separator.join(rendered)
