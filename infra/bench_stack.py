"""The ``OrderflowBench`` stack: what the benchmarks need beside the product, deployed by
``make bench`` only (``make deploy`` deploys ``Orderflow`` alone).

Today that is the baseline API ``bench/rate_limit.py`` measures the rate limiter against:
``GET /products`` served by the same handler from the same products table, behind the same
kind of gateway (API key required, usage plans with the product's numbers, stage throttle),
with the application's rate limiting off.

The stack takes the product stack's products table and API keys by cross-stack reference
(CloudFormation exports of ``Orderflow``, imported here), so the demo keys work on both APIs. It
builds its own dependencies layer (same asset as the product's, uploaded once) rather than
import the product's: a layer version's ARN changes with every requirements change, and an
exported value cannot change while another stack imports it.
"""

from collections.abc import Mapping

from aws_cdk import CfnOutput, CrossStackReferences, ReferenceStrength, Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from constructs import Construct

from infra.api import add_route, keyed_rest_api, usage_plan
from infra.config import DeploymentConfig
from infra.domain import API_PACKAGES, DomainFunctions
from infra.inventory import SERVICE as INVENTORY
from infra.inventory import service_environment
from infra.lambda_defaults import DependenciesLayer, FunctionDefaults
from infra.polling import products_environment


class BaselineApi(Construct):
    """``GET /products`` with the application's rate limiting off (``RATE_LIMIT_ENABLED=false``),
    for the benchmark to measure the limiter against: the inventory's handler and table, and a
    REST API configured like the orders API, whose usage plans have the product's numbers and
    the product's API keys.

    Attributes:
        rest_api: the API.
        list_products: its function.
        usage_plans: its usage plans, by plan name.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        products: dynamodb.ITable,
        bus: events.IEventBus,
        api_keys: Mapping[str, apigateway.IApiKey],
        defaults: FunctionDefaults,
    ) -> None:
        """
        Args:
            products: the inventory's products table (read only).
            bus: the inventory's bus (its functions are told its name; this one publishes
                nothing).
            api_keys: the orders API's keys, by client name (``config.api_clients``).
            defaults: the stack's shared config and layer.
        """
        super().__init__(scope, id)
        config = defaults.config
        function = DomainFunctions(
            self,
            service=INVENTORY,
            defaults=defaults,
            environment={**service_environment(products, bus), "RATE_LIMIT_ENABLED": "false"},
            shared_packages=API_PACKAGES,
        )
        self.list_products = function(
            "ListProducts", "list_products", "GET /products without rate limiting (benchmark)"
        )
        products.grant_read_data(self.list_products)
        # the same in-memory copy of the catalogue as the orders API's (infra/polling.py)
        for name, value in products_environment(config.polling.products).items():
            self.list_products.add_environment(name, value)
        self.rest_api = keyed_rest_api(
            self,
            "RestApi",
            name=f"orderflow-{config.stage}-baseline",
            description="orderflow benchmark baseline: GET /products without rate limiting",
            config=config,
        )
        add_route(self.rest_api.root.add_resource("products"), "GET", self.list_products)
        self.usage_plans = {}
        for spec in config.usage_plans:
            plan = usage_plan(self, spec, name=f"orderflow-{config.stage}-baseline-{spec.name}")
            plan.add_api_stage(api=self.rest_api, stage=self.rest_api.deployment_stage)
            for client in config.api_clients:
                if client.plan == spec.name:
                    plan.add_api_key(api_keys[client.name])
            self.usage_plans[spec.name] = plan


class OrderflowBenchStack(Stack):
    """The benchmark's resources (``BaselineApi``) and their outputs (``BaselineApiId``).

    Attributes:
        baseline: the baseline API.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DeploymentConfig,
        products: dynamodb.ITable,
        api_keys: Mapping[str, apigateway.IApiKey],
    ) -> None:
        """
        Args:
            config: the stage (the same as the product stack's).
            products: the product stack's products table.
            api_keys: the product stack's API keys, by client name.
        """
        super().__init__(scope, id, description=f"orderflow benchmark baseline ({config.stage})")
        # Exports and Fn::ImportValue, which the emulator knows (not Fn::GetStackOutput, the
        # "weak" default of cdk.json).
        CrossStackReferences.of(self).consume(ReferenceStrength.STRONG)
        Tags.of(self).add("project", "orderflow")
        Tags.of(self).add("stage", config.stage)

        defaults = FunctionDefaults(config=config, layer=DependenciesLayer(self, "Dependencies"))
        bus = events.EventBus.from_event_bus_name(self, "Bus", config.bus_name)
        self.baseline = BaselineApi(
            self, "Baseline", products=products, bus=bus, api_keys=api_keys, defaults=defaults
        )
        CfnOutput(self, "BaselineApiId", value=self.baseline.rest_api.rest_api_id)
