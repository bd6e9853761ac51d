"""The orders API and its edge: ``POST /orders``, ``GET /orders/{orderId}``, ``GET /products``
behind API keys, usage plans and the application's per-key rate limiter."""

import re

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig

STAGE = "prod"
API_KEY_HEADER = "x-api-key"
THROTTLED_RETRY_AFTER_S = 1
QUOTA_RETRY_AFTER_S = 3600

# What API Gateway itself answers, shaped like the application's own errors (ErrorBody,
# RateLimited in functions/edge/models.py). The emulator answers these cases with its default
# body ({"message": "Forbidden"}) but the same status codes.
_GATEWAY_RESPONSES = {
    "InvalidApiKey": (
        apigateway.ResponseType.INVALID_API_KEY,
        "403",
        f'{{"message": "missing or invalid API key: send your key in the {API_KEY_HEADER} '
        'header"}',
        {},
    ),
    "Throttled": (
        apigateway.ResponseType.THROTTLED,
        "429",
        f'{{"message": "rate limit exceeded; retry in {THROTTLED_RETRY_AFTER_S} s", '
        f'"retryAfter": {THROTTLED_RETRY_AFTER_S}}}',
        {"Retry-After": f"'{THROTTLED_RETRY_AFTER_S}'"},
    ),
    "QuotaExceeded": (
        apigateway.ResponseType.QUOTA_EXCEEDED,
        "429",
        '{"message": "daily quota used up; it resets at 00:00 UTC", '
        f'"retryAfter": {QUOTA_RETRY_AFTER_S}}}',
        {"Retry-After": f"'{QUOTA_RETRY_AFTER_S}'"},
    ),
}


def pascal_case(name: str) -> str:
    """``demo-basic`` -> ``DemoBasic`` (construct ids and output names)."""
    return "".join(part.title() for part in re.split(r"[-_]", name))


class ApiAccess(Construct):
    """Who may call the APIs and how often: one API key per configured client, one usage plan
    per configured plan (throttle and daily quota, enforced by API Gateway on AWS), and the
    table of the application's limiter, which enforces the same plans everywhere (the
    emulator validates keys but does not throttle).

    Attributes:
        keys: the API keys, by client name.
        usage_plans: the usage plans, by plan name.
        table: the limiter's table (``pk`` = ``KEY#<apiKeyId>``, TTL ``expiresAt``).
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        """
        Args:
            config: the plans, the clients and the default plan of unknown keys.
        """
        super().__init__(scope, id)
        self._config = config
        self.table = dynamodb.Table(
            self,
            "RateLimits",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiresAt",
            # Counters that refill within seconds and a day: nothing worth restoring.
            removal_policy=config.removal_policy,
        )
        self.usage_plans = {
            plan.name: apigateway.UsagePlan(
                self,
                f"{pascal_case(plan.name)}Plan",
                name=f"orderflow-{config.stage}-{plan.name}",
                description=plan.description or None,
                throttle=apigateway.ThrottleSettings(
                    rate_limit=plan.rate_limit, burst_limit=plan.burst_limit
                ),
                quota=apigateway.QuotaSettings(
                    limit=plan.daily_quota, period=apigateway.Period.DAY
                ),
            )
            for plan in config.usage_plans
        }
        self.keys: dict[str, apigateway.ApiKey] = {}
        for client in config.api_clients:
            key = apigateway.ApiKey(
                self,
                f"{pascal_case(client.name)}Key",
                api_key_name=f"orderflow-{config.stage}-{client.name}",
                description=f"orderflow {config.stage}: client {client.name}, plan {client.plan}",
            )
            self.usage_plans[client.plan].add_api_key(key)
            self.keys[client.name] = key

    def attach(self, rest_api: apigateway.RestApi) -> None:
        """Put ``rest_api``'s stage on every usage plan: each key works there, within its plan."""
        for plan in self.usage_plans.values():
            plan.add_api_stage(api=rest_api, stage=rest_api.deployment_stage)

    def limit(self, function: lambda_.Function, *, enabled: bool = True) -> None:
        """Configure the edge of an API function: its limiter's table and plans (the usage
        plans' numbers and key ids), or ``RATE_LIMIT_ENABLED=false``."""
        if not enabled:
            function.add_environment("RATE_LIMIT_ENABLED", "false")
            return
        plans = {
            plan.name: {
                "rate": plan.rate_limit,
                "burst": plan.burst_limit,
                "dailyQuota": plan.daily_quota,
                "apiKeyIds": [
                    self.keys[client.name].key_id
                    for client in self._config.api_clients
                    if client.plan == plan.name
                ],
            }
            for plan in self._config.usage_plans
        }
        function.add_environment("RATE_LIMIT_ENABLED", "true")
        function.add_environment("RATE_LIMIT_TABLE", self.table.table_name)
        function.add_environment("RATE_LIMIT_PLANS", Stack.of(self).to_json_string(plans))
        function.add_environment("RATE_LIMIT_DEFAULT_PLAN", self._config.default_plan)
        self.table.grant_read_write_data(function)


def keyed_rest_api(
    scope: Construct, id: str, *, name: str, description: str, config: DeploymentConfig
) -> apigateway.RestApi:
    """A REST API (stage ``prod``) whose every method needs an API key (``x-api-key``), with
    stage-wide throttling and gateway errors shaped like the application's."""
    rest_api = apigateway.RestApi(
        scope,
        id,
        rest_api_name=name,
        description=description,
        api_key_source_type=apigateway.ApiKeySourceType.HEADER,
        default_method_options=apigateway.MethodOptions(api_key_required=True),
        deploy_options=apigateway.StageOptions(
            stage_name=STAGE,
            tracing_enabled=True,
            throttling_rate_limit=config.api_throttle_rate,
            throttling_burst_limit=config.api_throttle_burst,
        ),
        # The account-wide API Gateway logging role is not this stack's business.
        cloud_watch_role=False,
    )
    for response_id, (type_, status, template, headers) in _GATEWAY_RESPONSES.items():
        rest_api.add_gateway_response(
            response_id,
            type=type_,
            status_code=status,
            templates={"application/json": template},
            response_headers=headers or None,
        )
    return rest_api


class OrdersApi(Construct):
    """The orders REST API (stage ``prod``), one Lambda proxy integration per route; every
    method needs an API key, every function runs the edge's rate limiter.

    Attributes:
        rest_api: the API.
        access: its API keys, usage plans and limiter table.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        place_order: lambda_.Function,
        get_order: lambda_.Function,
        list_products: lambda_.Function,
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            place_order: serves ``POST /orders``.
            get_order: serves ``GET /orders/{orderId}``.
            list_products: serves ``GET /products`` (``?inStock=true``).
            config: the stage (part of the API's name), plans, clients and throttling.
        """
        super().__init__(scope, id)
        self.access = ApiAccess(self, "Access", config=config)
        for function in (place_order, get_order, list_products):
            self.access.limit(function)
        self.rest_api = keyed_rest_api(
            self,
            "RestApi",
            name=f"orderflow-{config.stage}-api",
            description="orderflow: place and follow orders, list products",
            config=config,
        )
        orders = self.rest_api.root.add_resource("orders")
        orders.add_method("POST", apigateway.LambdaIntegration(place_order))
        orders.add_resource("{orderId}").add_method("GET", apigateway.LambdaIntegration(get_order))
        self.rest_api.root.add_resource("products").add_method(
            "GET", apigateway.LambdaIntegration(list_products)
        )
        self.access.attach(self.rest_api)


class BaselineApi(Construct):
    """``GET /products`` with the application's rate limiting off, for the benchmark to measure
    the limiter against: same gateway (API key, usage plans), same handler, same table.
    Deployed outside prod only (``DeploymentConfig.has_baseline_api``).

    Attributes:
        rest_api: the API.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        list_products: lambda_.Function,
        access: ApiAccess,
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            list_products: a ``GET /products`` function of its own (limiting is turned off
                in its environment).
            access: the orders API's keys and plans, which are valid here too.
            config: the stage.
        """
        super().__init__(scope, id)
        access.limit(list_products, enabled=False)
        self.rest_api = keyed_rest_api(
            self,
            "RestApi",
            name=f"orderflow-{config.stage}-baseline",
            description="orderflow benchmark baseline: GET /products without rate limiting",
            config=config,
        )
        self.rest_api.root.add_resource("products").add_method(
            "GET", apigateway.LambdaIntegration(list_products)
        )
        access.attach(self.rest_api)
