"""AWS X-Ray offline: a daemon for what the X-Ray SDK sends (``daemon.py``), the X-Ray API
(``provider.py``, a LocalStack service from the entry point ``localstack.aws.provider``
``xray:default``), sampling as AWS does it (``sampling.py``) and the segments AWS's services
contribute where the stack enables tracing (``hooks.py``, ``segments.py``). What it does and
how it differs from AWS: emulator/README.md ("AWS X-Ray") and docs/observability.md.

Declared as kit patches (registry.py): ``kit.xray`` starts the daemon and adds
``GET /_orderflow/xray`` (its address and counts); the others are the hooks.
"""

from __future__ import annotations

from typing import Any

from orderflow_hostexec import cloudformation_resources
from orderflow_hostexec.patches import Patch, Target, provider_installed

ENTRY_POINT = "orderflow_hostexec.xray.provider:xray_provider"
STATUS_PATH = "/_orderflow/xray"


def _serve_status(request: Any, **kwargs: Any) -> dict[str, Any]:
    from orderflow_hostexec.xray import service

    return service.report()


def start_daemon() -> None:
    from localstack.services.edge import ROUTER

    from orderflow_hostexec.xray import service

    service.daemon_address()
    ROUTER.add(STATUS_PATH, endpoint=_serve_status, methods=["GET"])


def _lambda_hook() -> None:
    from orderflow_hostexec.xray import hooks

    hooks.traced_lambda_invocations()


def _api_gateway_hook() -> None:
    from orderflow_hostexec.xray import hooks

    hooks.traced_rest_api_stages()


def _step_functions_hook() -> None:
    from orderflow_hostexec.xray import hooks

    hooks.traced_executions()
    hooks.state_machine_tracing_from_templates()
    hooks.traced_sqs_tasks()


def _events_hook() -> None:
    from orderflow_hostexec.xray import hooks

    hooks.traced_event_targets()


def _sqs_batches_hook() -> None:
    from orderflow_hostexec.xray import hooks

    hooks.traced_sqs_batches()


def _sampling_rule_resource() -> None:
    from orderflow_hostexec.xray import cloudformation

    cloudformation.provide_sampling_rule_resource()


_LAMBDA = "localstack.services.lambda_.invocation"
_TARGET = "localstack.services.events.target"
_SFN = "localstack.services.stepfunctions"
_SFN_LAMBDA = f"{_SFN}.asl.component.state.state_execution.state_task.lambda_eval_utils"
_API = "localstack.services.apigateway.next_gen.execute_api"

PATCHES = (
    Patch(
        name="kit.xray",
        kind="kit",
        purpose=(
            "AWS X-Ray served offline: a UDP daemon for the SDK's segments (functions get "
            f"AWS_XRAY_DAEMON_ADDRESS), the X-Ray API; GET {STATUS_PATH} reports the daemon"
        ),
        targets=(
            Target("localstack.services.plugins", "aws_provider"),
            Target("localstack.services.plugins", "Service.for_provider"),
            Target("localstack.services.plugins", "ServiceLifecycleHook", shape="class"),
            Target("localstack.aws.api", "handler"),
            Target("localstack.aws.api", "CommonServiceException", shape="class"),
            Target("localstack.services.edge", "ROUTER.add"),
        ),
        apply=start_daemon,
        check=provider_installed("xray", ENTRY_POINT),
    ),
    Patch(
        name="xray.lambda-segments",
        kind="behaviour",
        purpose=(
            "a function with active tracing samples as AWS does (not always), records its "
            "AWS::Lambda and AWS::Lambda::Function segments, and its runtime's Parent is the "
            "function segment"
        ),
        targets=(
            Target(
                f"{_LAMBDA}.execution_environment",
                "ExecutionEnvironment.invoke",
                parameters=("self", "invocation"),
            ),
            Target(
                f"{_LAMBDA}.execution_environment",
                "ExecutionEnvironment.start",
                parameters=("self",),
            ),
            Target(f"{_LAMBDA}.lambda_models", "Invocation", shape="class"),
            Target(f"{_LAMBDA}.lambda_models", "VersionFunctionConfiguration", shape="class"),
            Target("localstack.utils.xray.trace_header", "TraceHeader.from_header_str"),
            Target(
                "localstack.utils.xray.trace_header",
                "TraceHeader.ensure_sampled_exists",
                parameters=("self", "sampled"),
            ),
            Target(
                "localstack.utils.xray.trace_header",
                "TraceHeader.ensure_parent_exists",
                parameters=("self",),
            ),
        ),
        apply=_lambda_hook,
    ),
    Patch(
        name="xray.api-gateway-stage",
        kind="behaviour",
        purpose=(
            "a REST API stage with tracing on decides sampling, records its AWS::ApiGateway::"
            "Stage segment, and passes the trace header to its Lambda integration (LocalStack "
            "dropped it: the function started a trace of its own)"
        ),
        targets=(
            Target(f"{_API}.handlers", "preprocess_request.append"),
            Target(
                f"{_API}.handlers.response_enricher",
                "InvocationResponseEnricher.__call__",
                parameters=("self", "chain", "context", "response"),
            ),
            Target(
                f"{_API}.integrations.aws",
                "RestApiAwsProxyIntegration.invoke",
                parameters=("self", "context"),
            ),
            Target(
                f"{_API}.integrations.aws",
                "RestApiAwsProxyIntegration.call_lambda",
                parameters=("function_arn", "event", "source_arn", "credentials"),
            ),
            Target(f"{_API}.integrations.aws", "get_service_factory"),
            Target("localstack.aws.connect", "MetadataRequestInjector.custom_headers"),
        ),
        apply=_api_gateway_hook,
    ),
    Patch(
        name="xray.step-functions",
        kind="behaviour",
        purpose=(
            "an execution of a state machine with tracing on records its AWS::StepFunctions::"
            "StateMachine segment (a subsegment per state) and its Lambda tasks continue the "
            "trace; StartExecution takes the trace header from the HTTP header too; a "
            "template's TracingConfiguration is applied (LocalStack's CloudFormation dropped it)"
        ),
        targets=(
            Target(
                f"{_SFN}.provider",
                "StepFunctionsProvider.start_execution",
                parameters=(
                    "self",
                    "context",
                    "state_machine_arn",
                    "name",
                    "input",
                    "trace_header",
                    "kwargs",
                ),
            ),
            Target(f"{_SFN}.backend.execution", "Execution.start", parameters=("self",)),
            Target(
                f"{_SFN}.backend.execution",
                "BaseExecutionWorkerCommunication.terminated",
                parameters=("self",),
            ),
            Target(
                _SFN_LAMBDA,
                "execute_lambda_function_integration",
                parameters=("env", "parameters", "region", "state_credentials"),
            ),
            Target(
                _SFN_LAMBDA,
                "_invoke_lambda_function",
                parameters=("parameters", "region", "state_credentials"),
            ),
            Target(
                f"{_SFN}.resource_providers.aws_stepfunctions_statemachine",
                "StepFunctionsStateMachineProvider.create",
                parameters=("self", "request"),
            ),
            Target(
                f"{_SFN}.resource_providers.aws_stepfunctions_statemachine",
                "StepFunctionsStateMachineProvider.update",
                parameters=("self", "request"),
            ),
            Target(f"{_SFN}.backend.models", "sfn_stores", shape="object"),
            Target(f"{_SFN}.backend.state_machine", "StateMachineInstance", shape="class"),
        ),
        apply=_step_functions_hook,
    ),
    Patch(
        name="xray.event-targets",
        kind="behaviour",
        purpose=(
            "PutEvents: each entry's TraceHeader (else the request's header) reaches the rule's "
            "targets; SQS targets get it as AWSTraceHeader, Step Functions as the execution's "
            "trace header, SNS on to its SQS subscriptions (LocalStack used the request's "
            "header for every entry and dropped it for SQS, SNS and Step Functions targets)"
        ),
        targets=(
            Target(
                "localstack.services.events.provider",
                "EventsProvider._process_entry",
                parameters=(
                    "self",
                    "entry",
                    "processed_entries",
                    "failed_entry_count",
                    "context",
                ),
            ),
            *(
                Target(
                    _TARGET, f"{sender}.send_event", parameters=("self", "event", "trace_header")
                )
                for sender in ("SqsTargetSender", "StatesTargetSender", "SnsTargetSender")
            ),
            Target(_TARGET, "TargetSender._register_client_hooks", parameters=("self", "client")),
        ),
        apply=_events_hook,
    ),
    Patch(
        name="xray.sqs-batches",
        kind="behaviour",
        purpose=(
            "an SQS event source mapping invokes its function in the trace of the batch's first "
            "record (its AWSTraceHeader), as Lambda does; LocalStack started a new trace"
        ),
        targets=(
            Target(
                "localstack.services.lambda_.event_source_mapping.senders.lambda_sender",
                "LambdaSender.send_events",
                parameters=("self", "events"),
            ),
        ),
        apply=_sqs_batches_hook,
    ),
    Patch(
        name="xray.sampling-rule-resource",
        kind="behaviour",
        purpose="CloudFormation creates, updates and deletes AWS::XRay::SamplingRule",
        targets=(*cloudformation_resources.TARGETS,),
        apply=_sampling_rule_resource,
    ),
)
