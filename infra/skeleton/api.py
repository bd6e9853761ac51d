"""Path a: REST API -> Lambda -> DynamoDB (``POST /items``, ``GET /items/{id}``)."""

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.lambda_defaults import FunctionDefaults, ServiceFunction


class ItemsApi(Construct):
    """A REST API (stage ``prod``) whose routes are served by one Lambda function.

    Attributes:
        rest_api: the API.
        handler: the function behind every route.
    """

    def __init__(
        self, scope: Construct, id: str, *, table: dynamodb.ITable, defaults: FunctionDefaults
    ) -> None:
        super().__init__(scope, id)
        self.handler = ServiceFunction(
            self,
            "Handler",
            service="skeleton",
            handler="skeleton.handlers.api.handler",
            defaults=defaults,
            environment={"TABLE_NAME": table.table_name},
            description="skeleton: POST /items and GET /items/{id}",
        ).function
        table.grant_read_write_data(self.handler)

        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"orderflow-{defaults.config.stage}-skeleton",
            deploy_options=apigateway.StageOptions(stage_name="prod", tracing_enabled=True),
            # The account-wide API Gateway logging role is not this stack's business.
            cloud_watch_role=False,
        )
        integration = apigateway.LambdaIntegration(self.handler)
        items = self.rest_api.root.add_resource("items")
        items.add_method("POST", integration)
        items.add_resource("{id}").add_method("GET", integration)
