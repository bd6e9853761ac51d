"""Inventory: the products table, the reservation steps of the saga, ``GET /products`` and the
deploy-time seed of the catalogue from ``data/products.json``."""

import json
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import DeploymentConfig
from infra.domain import API_PACKAGES, DomainFunctions, domain_table
from infra.lambda_defaults import FunctionDefaults, tag_function
from infra.nag import ANY_FUNCTION_VERSION, suppress, suppress_lambda_role
from infra.polling import products_environment

PRODUCTS_FILE = Path(__file__).resolve().parent.parent / "data" / "products.json"
"""The catalogue seeded at deploy time: ``[{sku, name, price, available}, ...]``."""

SERVICE = "inventory"
SEED_TIMEOUT = Duration.seconds(60)


def load_products(path: Path = PRODUCTS_FILE) -> list[dict[str, Any]]:
    """The products of ``path``, read at synth time."""
    products: list[dict[str, Any]] = json.loads(path.read_text())
    return products


class Inventory(Construct):
    """Products, stock and reservations (table ``PRODUCTS_TABLE``: ``SKU#<sku>``/``PRODUCT``,
    ``RESERVATION#<orderId>``/``RESERVATION``).

    Deploying creates the products that are missing; a redeploy never resets live stock (see
    ``inventory.handlers.seed_products``). Every seed publishes each product's price
    (``ProductPriced``): the catalogue's interface to other services (orders keeps a copy of
    the prices from it; nothing outside inventory reads the table).

    On the emulator the seed does not run by itself: LocalStack's community edition deploys
    custom resources as no-ops, and the provider framework's function is Node.js, which the
    host executor cannot run. Invoke ``seed`` (output ``SeedProductsFunctionName``) with
    ``{"RequestType": "Create", "ResourceProperties": {"Products": <data/products.json>}}``
    instead: same handler, same result (``make deploy`` does, see
    ``emulator/custom_resources.py``).

    Attributes:
        table: the products table.
        reserve, release, commit: the saga's step functions (reserve stock, give it back,
            turn it into sold stock).
        list_products: the function behind ``GET /products``.
        seed: the custom resource handler that writes the catalogue.
        seed_resource: the custom resource carrying the catalogue (property ``Products``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
        products_file: Path = PRODUCTS_FILE,
    ) -> None:
        """
        Args:
            bus: where ``Inventory*`` and ``ProductPriced`` events are published.
            defaults: the stack's shared config and layer.
            products_file: the catalogue to seed (``data/products.json`` by default).
        """
        super().__init__(scope, id)
        self.table = domain_table(self, "Table", config=defaults.config)
        function = DomainFunctions(
            self,
            service=SERVICE,
            defaults=defaults,
            environment=service_environment(self.table, bus),
            shared_packages=API_PACKAGES,
        )
        self.reserve = function("Reserve", "reserve_inventory", "saga step ReserveInventory")
        self.release = function("Release", "release_inventory", "compensation ReleaseInventory")
        self.commit = function("Commit", "commit_inventory", "saga step CommitInventory")
        self.list_products = function("ListProducts", "list_products", "GET /products")
        for name, value in products_environment(defaults.config.polling.products).items():
            self.list_products.add_environment(name, value)
        self.seed = function(
            "Seed", "seed_products", "seeds the catalogue on deploy", timeout=SEED_TIMEOUT
        )
        for name, value in defaults.config.stock_sharding.environment().items():
            self.seed.add_environment(name, value)  # hot SKUs' default shard count
        for publisher in (self.reserve, self.release):
            self.table.grant_read_write_data(publisher)
            bus.grant_put_events_to(publisher)
        self.table.grant_read_write_data(self.commit)
        self.table.grant_read_write_data(self.seed)
        bus.grant_put_events_to(self.seed)  # ProductPriced, per product, on every seed
        self.table.grant_read_data(self.list_products)
        self.seed_resource = self._seed_on_deploy(defaults.config, load_products(products_file))

    def _seed_on_deploy(
        self, config: DeploymentConfig, products: list[dict[str, Any]]
    ) -> CustomResource:
        """The custom resource that runs ``seed`` with ``products`` on every deployment."""
        provider = cr.Provider(
            self,
            "SeedProvider",
            on_event_handler=self.seed,
            log_group=logs.LogGroup(
                self,
                "SeedProviderLogs",
                retention=config.log_retention,
                removal_policy=config.removal_policy,
            ),
        )
        suppress_provider_findings(provider)
        tag_function(provider, "inventory", "seed-products-provider")
        return CustomResource(
            self,
            "SeedProducts",
            service_token=provider.service_token,
            resource_type="Custom::ProductsSeed",
            properties={"Products": products},
        )


def service_environment(table: dynamodb.ITable, bus: events.IEventBus) -> dict[str, str]:
    """What every inventory function is told: its table and the bus."""
    return {"PRODUCTS_TABLE": table.table_name, "EVENT_BUS_NAME": bus.event_bus_name}


def suppress_provider_findings(provider: cr.Provider, handler: str = "seed") -> None:
    """cdk-nag's findings on the provider framework's function: CDK's own Node.js code, run by
    CloudFormation once per deployment, configured by CDK (not a ``ServiceFunction``)."""
    framework = provider.node.find_child("framework-onEvent")
    why = "CDK's custom-resource provider framework function, configured by CDK"
    suppress(framework, "Serverless-LambdaDefaultMemorySize", f"{why}; 128 MB suffice")
    suppress(framework, "Serverless-LambdaTracing", f"{why}; nothing to trace but one call")
    suppress(
        framework,
        "Serverless-LambdaDLQ",
        f"{why}; it answers CloudFormation, which fails the deployment if it cannot",
    )
    suppress_lambda_role(
        framework.node.find_child("ServiceRole"),
        f"{why}: it may invoke every version of the {handler} function",
        applies_to=[ANY_FUNCTION_VERSION],
    )
