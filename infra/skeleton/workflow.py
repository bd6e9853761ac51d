"""Path e: Step Functions Standard workflow: one Lambda task, then Succeed."""

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.lambda_defaults import FunctionDefaults, ServiceFunction


class GreetingWorkflow(Construct):
    """Takes ``{"name": ...}`` and ends with ``{"greeting": "hello <name>"}``.

    Attributes:
        handler: the function of the ``Greet`` task.
        state_machine: the workflow.
    """

    def __init__(self, scope: Construct, id: str, *, defaults: FunctionDefaults) -> None:
        super().__init__(scope, id)
        self.handler = ServiceFunction(
            self,
            "Handler",
            service="skeleton",
            handler="skeleton.handlers.greeter.handler",
            defaults=defaults,
            description="skeleton: the Greet task of the greeting workflow",
        ).function

        greet = tasks.LambdaInvoke(
            self,
            "Greet",
            lambda_function=self.handler,
            # The task's output is the function's return value, not the Invoke API response.
            payload_response_only=True,
            # Retry transient Lambda errors: Lambda.ServiceException, Lambda.SdkClientException...
            retry_on_service_exceptions=True,
        )
        definition = greet.next(sfn.Succeed(self, "Done"))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.minutes(5),
            tracing_enabled=True,
        )
