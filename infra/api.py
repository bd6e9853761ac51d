"""The orders API: ``POST /orders``, ``GET /orders/{orderId}``, ``GET /products``."""

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig


class OrdersApi(Construct):
    """A REST API (stage ``prod``), one Lambda proxy integration per route.

    Attributes:
        rest_api: the API.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        place_order: lambda_.IFunction,
        get_order: lambda_.IFunction,
        list_products: lambda_.IFunction,
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            place_order: serves ``POST /orders``.
            get_order: serves ``GET /orders/{orderId}``.
            list_products: serves ``GET /products`` (``?inStock=true``).
            config: the stage (part of the API's name).
        """
        super().__init__(scope, id)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"orderflow-{config.stage}-api",
            description="orderflow: place and follow orders, list products",
            deploy_options=apigateway.StageOptions(stage_name="prod", tracing_enabled=True),
            # The account-wide API Gateway logging role is not this stack's business.
            cloud_watch_role=False,
        )
        orders = self.rest_api.root.add_resource("orders")
        orders.add_method("POST", apigateway.LambdaIntegration(place_order))
        orders.add_resource("{orderId}").add_method("GET", apigateway.LambdaIntegration(get_order))
        self.rest_api.root.add_resource("products").add_method(
            "GET", apigateway.LambdaIntegration(list_products)
        )
