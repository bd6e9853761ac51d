"""The orders API and its edge: ``POST /orders``, ``GET /orders/{orderId}``, ``GET /products``
behind API keys, usage plans and the application's per-key rate limiter; and the pieces every
keyed REST API of the app shares (the benchmark's baseline API in ``infra/bench_stack.py`` too).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig
from infra.contracts import API_KEY_HEADER
from infra.domain import suppress_backups
from infra.nag import suppress
from infra.plans import UsagePlanSpec
from infra.polling import PRODUCTS_CACHE_KEY, ProductsCacheConfig

STAGE = "prod"
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
        suppress_backups(self.table, "token buckets that refill within seconds and a day")
        self.usage_plans = {
            plan.name: usage_plan(self, plan, name=f"orderflow-{config.stage}-{plan.name}")
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

    def limit(self, function: lambda_.Function) -> None:
        """Configure the edge of an API function: its limiter's table and plans (the usage
        plans' numbers and key ids)."""
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
    scope: Construct,
    id: str,
    *,
    name: str,
    description: str,
    config: DeploymentConfig,
    cached_methods: Mapping[str, Duration] | None = None,
    cache_cluster_size: str = "0.5",
) -> apigateway.RestApi:
    """A REST API (stage ``prod``) whose every method needs an API key (``x-api-key``), with
    stage-wide throttling and gateway errors shaped like the application's.

    ``cached_methods`` (``{"/products/GET": ttl}``): the stage gets a cache cluster of
    ``cache_cluster_size`` GB and caches those methods' answers for their TTL, encrypted at
    rest; none: no cache cluster (LocalStack's core does not emulate API Gateway caching)."""
    cached = dict(cached_methods or {})
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
            cache_cluster_enabled=bool(cached) or None,
            cache_cluster_size=cache_cluster_size if cached else None,
            method_options={
                path: apigateway.MethodDeploymentOptions(
                    caching_enabled=True,
                    cache_ttl=ttl,
                    cache_data_encrypted=True,
                    # a method's settings replace the stage's: keep its throttle
                    throttling_rate_limit=config.api_throttle_rate,
                    throttling_burst_limit=config.api_throttle_burst,
                )
                for path, ttl in cached.items()
            }
            or None,
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
    _suppress_findings(rest_api)
    return rest_api


def add_route(
    resource: apigateway.IResource,
    http_method: str,
    function: lambda_.IFunction,
    cache_key: Sequence[str] = (),
) -> apigateway.Method:
    """``http_method`` on ``resource``: a Lambda proxy integration of ``function``, API key
    required (the API's default). ``cache_key``: the request parameters
    (``method.request.querystring.x``, ``method.request.header.x``) the stage's cache keys
    this method's answers by, besides the path."""
    integration = apigateway.LambdaIntegration(
        function, cache_key_parameters=list(cache_key) or None
    )
    method = resource.add_method(
        http_method,
        integration,
        request_parameters=dict.fromkeys(cache_key, False) or None,
    )
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        suppress(
            method,
            rule,
            "clients are programs with API keys (every method requires one), on usage plans; "
            "there are no end users to authorise",
        )
    return method


def unkeyed_route(
    resource: apigateway.IResource, http_method: str, function: lambda_.IFunction, *, why: str
) -> apigateway.Method:
    """``http_method`` on ``resource`` without an API key, for ``why`` (recorded with cdk-nag's
    suppressions): what is public by nature (the stage's JWKS), or a caller that is not a client
    but a provider calling back, whose every request ``function`` authenticates by its
    signature. The stage throttle still bounds it."""
    method = resource.add_method(
        http_method, apigateway.LambdaIntegration(function), api_key_required=False
    )
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        suppress(
            method,
            rule,
            why,
        )
    return method


def usage_plan(scope: Construct, spec: UsagePlanSpec, *, name: str) -> apigateway.UsagePlan:
    """The usage plan of ``spec`` (throttle and daily quota), construct id ``<Name>Plan``."""
    return apigateway.UsagePlan(
        scope,
        f"{pascal_case(spec.name)}Plan",
        name=name,
        description=spec.description or None,
        throttle=apigateway.ThrottleSettings(
            rate_limit=spec.rate_limit, burst_limit=spec.burst_limit
        ),
        quota=apigateway.QuotaSettings(limit=spec.daily_quota, period=apigateway.Period.DAY),
    )


_NO_ACCOUNT_LOGGING_ROLE = (
    "API Gateway logging (access and execution logs) needs the account-wide CloudWatch Logs "
    "role, which this stack leaves alone (cloud_watch_role=False); the functions log every "
    "request with its correlation id"
)


def _suppress_findings(rest_api: apigateway.RestApi) -> None:
    """What cdk-nag reports on a keyed REST API and its stage, and why it does not apply."""
    suppress(
        rest_api,
        "AwsSolutions-APIG2",
        "the functions validate every request against the pydantic models that generate "
        "docs/openapi.json, answering 400 with each field at fault; a gateway validator would "
        "answer the same requests with less precise errors",
    )
    stage = rest_api.deployment_stage
    for rule in ("AwsSolutions-APIG1", "AwsSolutions-APIG6", "Serverless-APIGWAccessLogging"):
        suppress(stage, rule, _NO_ACCOUNT_LOGGING_ROLE)
    suppress(
        stage,
        "AwsSolutions-APIG3",
        "no WAF web ACL: API keys, usage plans and the stage throttle bound every client; a "
        "web ACL (billed per request) can be associated with the stage outside the stack",
    )


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
        jwks: lambda_.IFunction | None = None,
        payment_webhook: lambda_.IFunction | None = None,
    ) -> None:
        """
        The functions are ``Function``s, not ``IFunction``s: the API configures each one's
        rate limiter (``ApiAccess.limit`` adds environment variables).

        Args:
            place_order: serves ``POST /orders``.
            get_order: serves ``GET /orders/{orderId}``.
            list_products: serves ``GET /products`` (``?inStock=true``).
            payment_webhook: serves ``POST /webhooks/payments``, the payment provider's
                confirmations: no API key (its Standard Webhooks signature authenticates it),
                so no per-key limiter either.
            config: the stage (part of the API's name), plans, clients and throttling.
            jwks: serves ``GET /.well-known/jwks.json`` (no API key: the stage's public
                token-signing keys), when the stage publishes its own.
        """
        super().__init__(scope, id)
        self.access = ApiAccess(self, "Access", config=config)
        for function in (place_order, get_order, list_products):
            self.access.limit(function)
        products_cache = config.polling.products
        self.rest_api = keyed_rest_api(
            self,
            "RestApi",
            name=f"orderflow-{config.stage}-api",
            description="orderflow: place and follow orders, list products",
            config=config,
            **_products_cache(products_cache),
        )
        orders = self.rest_api.root.add_resource("orders")
        add_route(orders, "POST", place_order)
        add_route(orders.add_resource("{orderId}"), "GET", get_order)
        add_route(
            self.rest_api.root.add_resource("products"),
            "GET",
            list_products,
            cache_key=PRODUCTS_CACHE_KEY if products_cache.api_cache else (),
        )
        if jwks is not None:
            well_known = self.rest_api.root.add_resource(".well-known")
            unkeyed_route(
                well_known.add_resource("jwks.json"),
                "GET",
                jwks,
                why="public by nature: the stage's public token-signing keys (JWKS), which "
                "verifiers fetch without credentials",
            )
        # --- the payment provider's webhook (docs/webhooks.md) ---
        if payment_webhook is not None:
            unkeyed_route(
                self.rest_api.root.resource_for_path("webhooks/payments"),
                "POST",
                payment_webhook,
                why="called by the payment provider, which has no API key or user: the "
                "function verifies each request's Standard Webhooks signature (HMAC-SHA256 "
                "with the provider's secret) and timestamp before anything else",
            )
        self.access.attach(self.rest_api)


def _products_cache(products: ProductsCacheConfig) -> dict[str, Any]:
    """``keyed_rest_api``'s cache arguments for ``GET /products`` (``polling.products``): the
    stage's cache cluster on AWS, for the stages that enable it (infra/polling.py)."""
    if not products.api_cache:
        return {}
    return {
        "cached_methods": {"/products/GET": Duration.seconds(products.api_cache_ttl_seconds)},
        "cache_cluster_size": products.api_cache_size_gb,
    }
