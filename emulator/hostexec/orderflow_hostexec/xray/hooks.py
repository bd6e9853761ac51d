"""Where AWS's own services take part in a trace, done on the emulator as AWS does it.

- ``lambda``: an invocation of a function with active tracing decides sampling when its
  header has no decision (``sampling.py``), records the ``AWS::Lambda`` service segment and
  the ``AWS::Lambda::Function`` segment, and hands the runtime a ``_X_AMZN_TRACE_ID`` whose
  ``Parent`` is the function segment, so that the SDK's subsegments hang under it. LocalStack
  forced ``Sampled=1`` and a random ``Parent`` on every invocation instead.

Each hook is a ``Patch`` of ``xray/__init__.py``; targets are resolved when applied.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from typing import Any

from orderflow_hostexec.xray import segments
from orderflow_hostexec.xray.header import TraceHeader, new_segment_id, new_trace_id
from orderflow_hostexec.xray.sampling import SampledRequest
from orderflow_hostexec.xray.service import SAMPLER, STORE

LOG = logging.getLogger(__name__)


def header_of(value: Any) -> TraceHeader:
    """Our header from LocalStack's ``TraceHeader`` object, a string, or None."""
    if value is None:
        return TraceHeader()
    if hasattr(value, "to_header_str"):
        return TraceHeader.parse(value.to_header_str())
    return TraceHeader.parse(str(value))


def decide(header: TraceHeader, request: SampledRequest) -> TraceHeader:
    """The header with a root and a sampling decision: the upstream one if made, else ours."""
    root = header.root or new_trace_id()
    if header.decided:
        return header.with_(root=root)
    return header.with_(root=root, sampled="1" if SAMPLER.decide(request) else "0")


# --- Lambda -----------------------------------------------------------------------------------


def traced_lambda_invocations() -> None:
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment
    from localstack.utils.xray.trace_header import TraceHeader as LocalStackHeader

    original = ExecutionEnvironment.invoke
    start_environment = ExecutionEnvironment.start

    def start_timed(self: Any) -> None:
        """The environment's init, for its first invocation's Initialization subsegment."""
        began = time.time()
        start_environment(self)
        self.orderflow_init = (began, time.time())

    ExecutionEnvironment.start = start_timed

    class Decided(LocalStackHeader):
        """A header whose decision LocalStack must keep: its ``invoke`` forced ``Sampled=1``
        (``ensure_sampled_exists`` overwrote a 0) and a random ``Parent``."""

        def ensure_sampled_exists(self, sampled: Any = None) -> Any:
            return self

        def ensure_parent_exists(self) -> Any:
            return self

    def invoke(self: Any, invocation: Any) -> Any:
        version = self.function_version
        active = str(version.config.tracing_config_mode or "") == "Active"
        function_name = version.id.function_name
        function_arn = version.id.unqualified_arn()
        incoming = header_of(invocation.trace_context.get("aws_trace_header"))
        if active:
            header = decide(
                incoming,
                SampledRequest(
                    service_name=function_name,
                    service_type="AWS::Lambda::Function",
                    resource_arn=function_arn,
                ),
            )
        else:  # PassThrough: the upstream decision, or not traced
            header = incoming.with_(
                root=incoming.root or new_trace_id(),
                sampled=incoming.sampled if incoming.decided else "0",
            )
        recorded = active and header.is_sampled
        service_id, function_id = new_segment_id(), new_segment_id()
        runtime_header = header.with_(
            parent=function_id if recorded else (header.parent or new_segment_id())
        )
        init = getattr(self, "orderflow_init", None)  # a cold start: this is its first invocation
        self.orderflow_init = None
        context = dict(invocation.trace_context)
        context["aws_trace_header"] = Decided.from_header_str(str(runtime_header))
        started = time.time()
        result = original(self, dataclasses.replace(invocation, trace_context=context))
        if recorded:
            ended = time.time()
            try:
                for document in segments.lambda_segments(
                    trace_id=str(header.root),
                    upstream_parent=header.parent,
                    service_id=service_id,
                    function_id=function_id,
                    function_name=function_name,
                    function_arn=function_arn,
                    account_id=version.id.account,
                    region=version.id.region,
                    request_id=invocation.request_id,
                    start=started,
                    end=ended,
                    error=_function_error(result),
                    init=init,
                ):
                    STORE.put(document)
            except Exception:  # never fail an invocation for its trace
                LOG.exception("could not record the Lambda segments of %s", function_name)
        return result

    ExecutionEnvironment.invoke = invoke


def _function_error(result: Any) -> dict[str, str] | None:
    if not getattr(result, "is_error", False):
        return None
    try:
        body = json.loads(result.payload or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return {
        "type": str(body.get("errorType") or "Unhandled"),
        "message": str(body.get("errorMessage") or ""),
    }


# --- API Gateway (REST) -----------------------------------------------------------------------

_API = "localstack.services.apigateway.next_gen.execute_api"
_CALL = threading.local()  # the trace header of the integration call this thread makes


@dataclasses.dataclass
class _StageTrace:
    header: TraceHeader  # as sent on to the integration (Parent: the integration subsegment)
    segment_id: str
    start: float
    integration_start: float | None = None
    integration_end: float | None = None
    integration_fault: bool = False


def _stage_request(context: Any) -> tuple[str, SampledRequest]:
    rest_api = context.deployment.rest_api.rest_api
    name = f"{rest_api.get('name') or context.api_id}/{context.stage}"
    request = context.request
    return name, SampledRequest(
        service_name=name,
        service_type="AWS::ApiGateway::Stage",
        host=request.host or "",
        http_method=request.method or "",
        url_path=request.path or "",
        resource_arn=f"arn:aws:apigateway:{context.region}::/restapis/{context.api_id}"
        f"/stages/{context.stage}",
    )


def stage_decides(chain: Any, context: Any, response: Any) -> None:
    """A handler of the REST API chain, after routing: a stage with tracing on starts the
    trace (or continues the caller's) and decides sampling; the integration gets a header
    whose Parent is the stage segment's integration subsegment."""
    stage = context.stage_configuration or {}
    incoming = TraceHeader.parse(context.request.headers.get("X-Amzn-Trace-Id"))
    if not stage.get("tracingEnabled") or context.deployment is None:
        # not traced here: the caller's decision (or none) goes on, as on AWS; LocalStack
        # decided Sampled=0 for every request that came without a Parent
        made_up = TraceHeader.parse(context.trace_id)
        context.trace_id = str(incoming.with_(root=incoming.root or made_up.root))
        return
    _, request = _stage_request(context)
    header = decide(incoming, request)
    if header.is_sampled:
        trace = _StageTrace(header, new_segment_id(), time.time())
        trace.header = header.with_(parent=new_segment_id())  # the integration subsegment
        context.orderflow_xray = trace
        context.trace_id = str(trace.header)
    else:
        context.trace_id = str(header.with_(parent=header.parent or new_segment_id()))


def stage_records(context: Any, response: Any) -> None:
    trace: _StageTrace | None = getattr(context, "orderflow_xray", None)
    if trace is None:
        return
    context.orderflow_xray = None
    try:
        name, request = _stage_request(context)
        integration = context.integration or {}
        STORE.put(
            segments.api_gateway_segment(
                trace_id=str(trace.header.root),
                segment_id=trace.segment_id,
                upstream_parent=TraceHeader.parse(
                    context.request.headers.get("X-Amzn-Trace-Id")
                ).parent,
                name=name,
                api_id=str(context.api_id),
                stage=str(context.stage),
                account_id=str(context.account_id),
                region=str(context.region),
                request_id=str((context.context_variables or {}).get("requestId", "")),
                url=context.request.url,
                method=request.http_method,
                user_agent=context.request.headers.get("User-Agent", ""),
                client_ip=context.request.remote_addr or "",
                status=int(response.status_code),
                start=trace.start,
                end=time.time(),
                integration_id=str(trace.header.parent),
                integration_type=str(integration.get("type") or ""),
                integration_uri=str(integration.get("uri") or ""),
                integration_start=trace.integration_start,
                integration_end=trace.integration_end,
            )
        )
    except Exception:
        LOG.exception("could not record the API Gateway stage segment")


def traced_rest_api_stages() -> None:
    from localstack.services.apigateway.next_gen.execute_api import handlers
    from localstack.services.apigateway.next_gen.execute_api.handlers.response_enricher import (
        InvocationResponseEnricher,
    )
    from localstack.services.apigateway.next_gen.execute_api.integrations.aws import (
        RestApiAwsProxyIntegration,
    )

    handlers.preprocess_request.append(stage_decides)

    enrich = InvocationResponseEnricher.__call__

    def enrich_and_record(self: Any, chain: Any, context: Any, response: Any) -> None:
        enrich(self, chain, context, response)
        stage_records(context, response)

    InvocationResponseEnricher.__call__ = enrich_and_record

    invoke = RestApiAwsProxyIntegration.invoke
    call_lambda = RestApiAwsProxyIntegration.call_lambda

    def invoke_with_header(self: Any, context: Any) -> Any:
        trace: _StageTrace | None = getattr(context, "orderflow_xray", None)
        _CALL.header = context.trace_id
        if trace is not None:
            trace.integration_start = time.time()
        try:
            return invoke(self, context)
        finally:
            _CALL.header = None
            if trace is not None:
                trace.integration_end = time.time()

    def call_lambda_with_header(
        function_arn: str, event: bytes, source_arn: str, credentials: str | None = None
    ) -> bytes:
        header = getattr(_CALL, "header", None)
        if not header:
            return bytes(call_lambda(function_arn, event, source_arn, credentials))
        from localstack.aws.api.lambda_ import InvocationType
        from localstack.services.apigateway.next_gen.execute_api.integrations.aws import (
            get_service_factory,
        )
        from localstack.utils.aws.arns import extract_region_from_arn
        from localstack.utils.aws.client_types import ServicePrincipal

        client = get_service_factory(
            region_name=extract_region_from_arn(function_arn), role_arn=credentials
        ).lambda_
        result = (
            client.request_metadata(
                service_principal=ServicePrincipal.apigateway, source_arn=source_arn
            )
            .custom_headers({"X-Amzn-Trace-Id": header})
            .invoke(
                FunctionName=function_arn,
                Payload=event,
                InvocationType=InvocationType.RequestResponse,
            )
        )
        if payload := result.get("Payload"):
            return bytes(payload.read())
        return b""

    RestApiAwsProxyIntegration.invoke = invoke_with_header
    RestApiAwsProxyIntegration.call_lambda = staticmethod(call_lambda_with_header)


# --- Step Functions ---------------------------------------------------------------------------

_SFN = "localstack.services.stepfunctions"
_SFN_CALL = threading.local()  # the trace header of the Lambda task this thread invokes


@dataclasses.dataclass
class _ExecutionTrace:
    header: TraceHeader  # Root, upstream Parent, decision
    segment_id: str
    name: str
    arn: str
    state_machine_arn: str
    start: float
    calls: list[segments.TaskCall] = dataclasses.field(default_factory=list)


_EXECUTIONS: dict[str, _ExecutionTrace] = {}
_EXECUTIONS_LOCK = threading.Lock()


def _tracing_on(state_machine: Any) -> bool:
    config = getattr(state_machine, "tracing_config", None) or {}
    return bool(config.get("enabled"))


def execution_starts(execution: Any) -> None:
    machine = execution.state_machine
    if not _tracing_on(machine):
        return
    incoming = header_of(execution.trace_header)
    header = decide(
        incoming,
        SampledRequest(
            service_name=str(machine.name),
            service_type="AWS::StepFunctions::StateMachine",
            resource_arn=str(execution.state_machine_arn),
        ),
    )
    trace = _ExecutionTrace(
        header=header,
        segment_id=new_segment_id(),
        name=str(machine.name),
        arn=str(execution.exec_arn),
        state_machine_arn=str(execution.state_machine_arn),
        start=execution.start_date.timestamp(),
    )
    with _EXECUTIONS_LOCK:
        _EXECUTIONS[trace.arn] = trace


def execution_ends(execution: Any) -> None:
    with _EXECUTIONS_LOCK:
        trace = _EXECUTIONS.pop(str(execution.exec_arn), None)
    if trace is None or not trace.header.is_sampled:
        return
    try:
        history = execution.exec_worker.env.event_manager.get_event_history()
        STORE.put(
            segments.state_machine_segment(
                trace_id=str(trace.header.root),
                segment_id=trace.segment_id,
                upstream_parent=trace.header.parent,
                name=trace.name,
                execution_arn=trace.arn,
                state_machine_arn=trace.state_machine_arn,
                start=trace.start,
                end=(execution.stop_date.timestamp() if execution.stop_date else time.time()),
                status=str(execution.exec_status),
                history=history,
                calls=trace.calls,
            )
        )
    except Exception:
        LOG.exception("could not record the Step Functions segment of %s", trace.arn)


def traced_executions() -> None:
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task import (
        lambda_eval_utils,
    )
    from localstack.services.stepfunctions.backend.execution import (
        BaseExecutionWorkerCommunication,
        Execution,
    )
    from localstack.services.stepfunctions.provider import StepFunctionsProvider

    start_execution = StepFunctionsProvider.start_execution

    def start_execution_with_header(  # noqa: PLR0917 (LocalStack's own signature)
        self: Any,
        context: Any,
        state_machine_arn: str,
        name: str | None = None,
        input: str | None = None,
        trace_header: str | None = None,
        **kwargs: Any,
    ) -> Any:
        # "The trace header can also be passed in the request payload": the HTTP header first
        if trace_header is None and (sent := context.request.headers.get("X-Amzn-Trace-Id")):
            trace_header = sent
        return start_execution(
            self, context, state_machine_arn, name, input, trace_header, **kwargs
        )

    StepFunctionsProvider.start_execution = start_execution_with_header

    start = Execution.start

    def start_traced(self: Any) -> None:
        execution_starts(self)
        start(self)

    Execution.start = start_traced

    terminated = BaseExecutionWorkerCommunication.terminated

    def terminated_traced(self: Any) -> None:
        terminated(self)
        execution_ends(self.execution)

    BaseExecutionWorkerCommunication.terminated = terminated_traced

    execute = lambda_eval_utils.execute_lambda_function_integration
    invoke = lambda_eval_utils._invoke_lambda_function

    def execute_traced(env: Any, parameters: Any, region: Any, state_credentials: Any) -> None:
        data = env.states.context_object.context_object_data
        with _EXECUTIONS_LOCK:
            trace = _EXECUTIONS.get(str(data["Execution"]["Id"]))
        if trace is None:
            execute(env, parameters, region, state_credentials)
            return
        call = segments.TaskCall(
            id=new_segment_id(),
            state=str(data.get("State", {}).get("Name", "")),
            function=str((parameters or {}).get("FunctionName", "")),
            start=time.time(),
        )
        _SFN_CALL.header = str(trace.header.with_(parent=call.id))
        try:
            execute(env, parameters, region, state_credentials)
        except Exception as error:
            call.error = type(error).__name__
            raise
        finally:
            _SFN_CALL.header = None
            call.end = time.time()
            trace.calls.append(call)

    def invoke_with_header(parameters: Any, region: Any, state_credentials: Any) -> Any:
        header = getattr(_SFN_CALL, "header", None)
        if header:
            parameters = {**parameters, "_CustomHeaders": {"X-Amzn-Trace-Id": header}}
        return invoke(parameters, region, state_credentials)

    lambda_eval_utils.execute_lambda_function_integration = execute_traced
    lambda_eval_utils._invoke_lambda_function = invoke_with_header


def traced_sqs_tasks() -> None:
    """A state's ``sqs:sendMessage`` task (``.waitForTaskToken`` too) sends its message in the
    execution's trace, as Step Functions does on AWS: the message's ``AWSTraceHeader`` names
    the state machine's segment as the parent (added by the trace-app branch: the shipping
    worker's span belongs to the order's trace)."""
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_sqs import (  # noqa: E501
        StateTaskServiceSqs,
    )

    evaluate = StateTaskServiceSqs._eval_service_task

    def evaluate_in_trace(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Any:
        data = env.states.context_object.context_object_data
        with _EXECUTIONS_LOCK:
            trace = _EXECUTIONS.get(str(data["Execution"]["Id"]))
        if trace is not None and self._get_boto_service_action() == "send_message":
            header = str(trace.header.with_(parent=trace.segment_id))
            attributes = dict(normalised_parameters.get("MessageSystemAttributes") or {})
            attributes["AWSTraceHeader"] = {"DataType": "String", "StringValue": header}
            normalised_parameters["MessageSystemAttributes"] = attributes
        return evaluate(
            self,
            env=env,
            resource_runtime_part=resource_runtime_part,
            normalised_parameters=normalised_parameters,
            state_credentials=state_credentials,
        )

    StateTaskServiceSqs._eval_service_task = evaluate_in_trace


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def state_machine_tracing_from_templates() -> None:
    """LocalStack's CloudFormation dropped a state machine's ``TracingConfiguration`` (and its
    ``UpdateStateMachine`` ignores one): set it on the stored state machine once the resource
    exists (created or updated)."""
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.services.stepfunctions.backend.models import sfn_stores
    from localstack.services.stepfunctions.resource_providers.aws_stepfunctions_statemachine import (  # noqa: E501
        StepFunctionsStateMachineProvider,
    )

    def with_tracing(operation: Any) -> Any:
        def operation_with_tracing(self: Any, request: Any) -> Any:
            event = operation(self, request)
            tracing = (request.desired_state or {}).get("TracingConfiguration")
            model = event.resource_model or request.desired_state or {}
            if tracing is not None and model.get("Arn") and event.status == OperationStatus.SUCCESS:
                arn = str(model["Arn"])
                _, _, _, region, account, _ = arn.split(":", 5)
                machine = sfn_stores[account][region].state_machines.get(arn)
                if machine is not None:
                    machine.tracing_config = {"enabled": _enabled(tracing.get("Enabled"))}
            return event

        return operation_with_tracing

    StepFunctionsStateMachineProvider.create = with_tracing(
        StepFunctionsStateMachineProvider.create
    )
    StepFunctionsStateMachineProvider.update = with_tracing(
        StepFunctionsStateMachineProvider.update
    )


# --- EventBridge ------------------------------------------------------------------------------

_EVENTS_CALL = threading.local()  # the trace header of the target call this thread makes
_HEADER_HOOK = "orderflow-xray-trace-header"


def _entry_header(entry: Any, context: Any) -> TraceHeader:
    """An entry's trace: its ``TraceHeader``, else the request's ``X-Amzn-Trace-Id`` if the
    caller sent one (LocalStack invented a root for every request without one)."""
    header = TraceHeader.parse(str(entry.get("TraceHeader") or ""))
    if header.root:
        return header
    return TraceHeader.parse(context.request.headers.get("X-Amzn-Trace-Id"))


def _inject_header(params: Any, **kwargs: Any) -> None:
    if header := getattr(_EVENTS_CALL, "header", None):
        params["headers"]["X-Amzn-Trace-Id"] = header


def traced_event_targets() -> None:
    from localstack.services.events.provider import EventsProvider
    from localstack.services.events.target import (
        SnsTargetSender,
        SqsTargetSender,
        StatesTargetSender,
        TargetSender,
    )
    from localstack.utils.xray.trace_header import TraceHeader as LocalStackHeader

    process_entry = EventsProvider._process_entry

    def process_entry_with_its_header(
        self: Any, entry: Any, processed_entries: Any, failed_entry_count: Any, context: Any
    ) -> None:
        header = _entry_header(entry, context)
        kept = context.trace_context.get("aws_trace_header")
        # no header at all: the targets get none (LocalStack gave them a made-up root)
        context.trace_context["aws_trace_header"] = LocalStackHeader.from_header_str(
            str(header) if header.root else ""
        )
        try:
            process_entry(self, entry, processed_entries, failed_entry_count, context)
        finally:
            context.trace_context["aws_trace_header"] = kept

    EventsProvider._process_entry = process_entry_with_its_header

    register_client_hooks = TargetSender._register_client_hooks

    def register_client_hooks_and_ours(self: Any, client: Any) -> None:
        register_client_hooks(self, client)
        client.meta.events.register("before-call", _inject_header, unique_id=_HEADER_HOOK)

    TargetSender._register_client_hooks = register_client_hooks_and_ours

    def with_header(send_event: Any) -> Any:
        def send_event_with_header(self: Any, event: Any, trace_header: Any) -> None:
            header = header_of(trace_header)
            _EVENTS_CALL.header = str(header) if header.root else None
            try:
                send_event(self, event, trace_header)
            finally:
                _EVENTS_CALL.header = None

        return send_event_with_header

    # SQS: the message's AWSTraceHeader; Step Functions: StartExecution's trace header; SNS:
    # the publish's header, which LocalStack's SNS hands on to SQS subscriptions
    for sender in (SqsTargetSender, StatesTargetSender, SnsTargetSender):
        sender.send_event = with_header(sender.send_event)


# --- SQS -> Lambda event source mappings ------------------------------------------------------


def batch_header(events: Any) -> str | None:
    """The trace an SQS batch's invocation continues: its first record's ``AWSTraceHeader``
    (the other records' traces are not continued; the function can add spans to them)."""
    records = events.get("Records", []) if isinstance(events, dict) else events
    if not isinstance(records, list) or not records or not isinstance(records[0], dict):
        return None
    first = records[0]
    if first.get("eventSource") != "aws:sqs":
        return None  # DynamoDB streams (and the rest) start a new trace, as on AWS
    header = TraceHeader.parse((first.get("attributes") or {}).get("AWSTraceHeader"))
    return str(header) if header.root else None


def traced_sqs_batches() -> None:
    from localstack.services.lambda_.event_source_mapping.senders.lambda_sender import (
        LambdaSender,
    )

    send_events = LambdaSender.send_events

    def send_events_in_trace(self: Any, events: Any) -> Any:
        header = batch_header(events)
        client = self.target_client
        if header is None or not hasattr(client, "custom_headers"):
            return send_events(self, events)
        self.target_client = client.custom_headers({"X-Amzn-Trace-Id": header})
        try:
            return send_events(self, events)
        finally:
            self.target_client = client

    LambdaSender.send_events = send_events_in_trace
