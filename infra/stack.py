"""The ``Orderflow`` stack: shared resources, one construct per service, and the outputs."""

import re

from aws_cdk import Aspects, CfnOutput, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from infra.api import pascal_case
from infra.bus import OrderflowBus
from infra.chaos import ChaosExperiments
from infra.config import DeploymentConfig
from infra.fulfilment import OrderFulfilment
from infra.lambda_defaults import DependenciesLayer, FunctionDefaults, ServiceFunction
from infra.observability import Observability
from infra.queues import dead_letter_queues
from infra.resilience import ReservationBudget
from infra.tracing import TracingSampling


class OrderflowStack(Stack):
    """Everything orderflow deploys. Outputs have stable names that scripts and tests read.

    Attributes:
        bus: the ``orderflow-<stage>`` event bus every service publishes to.
        fulfilment: the order-fulfilment services, saga and API.
        chaos: the AWS FIS experiment templates and what they need, when
            ``config.chaos.fis_templates`` is on (None otherwise).
        sampling: the X-Ray sampling rule of the stage, when ``config.tracing`` asks for one.
        observability: the alerts topic, the alarms and the dashboard.
    """

    def __init__(self, scope: Construct, id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, id, description=f"orderflow ({config.stage})")
        Tags.of(self).add("project", "orderflow")
        Tags.of(self).add("stage", config.stage)

        defaults = FunctionDefaults(config=config, layer=DependenciesLayer(self, "Dependencies"))
        self.bus = OrderflowBus(self, "Bus", config=config)
        self.fulfilment = OrderFulfilment(self, "Fulfilment", bus=self.bus, defaults=defaults)
        self.chaos = (
            ChaosExperiments(self, "Chaos", functions=self._functions(), config=config)
            if config.chaos.fis_templates
            else None
        )
        # tracing: on dev, a sampling rule that traces every request (infra/tracing.py)
        self.sampling = TracingSampling(self, "Tracing", stage=config.stage, config=config.tracing)
        # alarms on every DLQ, the saga, each function, latency, the breaker; the dashboard
        self.observability = Observability(
            self,
            "Observability",
            config=config.alerts,
            name_prefix=f"orderflow-{config.stage}",
            dead_letter_queues={
                _short_name(queue, drop="Dlq"): queue for queue in dead_letter_queues(self)
            },
            functions=self._functions_by_service(),
            state_machine=self.fulfilment.saga.state_machine,
        )
        self._add_outputs()
        # bulkheads: reservations the account cannot afford are dropped, not failed on
        Aspects.of(self).add(ReservationBudget(config.resilience.bulkheads))

    def _add_outputs(self) -> None:
        outputs = {"BusName": self.bus.event_bus_name, **self._fulfilment_outputs()}
        # chaos on AWS: the deployed experiment templates, {file stem: template id}
        if self.chaos is not None:
            outputs["ChaosExperimentTemplates"] = self.to_json_string(
                {name: template.ref for name, template in self.chaos.templates.items()}
            )
        # alarms and dashboard (`orderflow alerts`, `orderflow dashboard`)
        watch = self.observability
        outputs["AlertsTopicArn"] = watch.topic.topic_arn
        outputs["DashboardName"] = watch.dashboard.dashboard_name
        if watch.inbox is not None:
            outputs["AlertsInboxUrl"] = watch.inbox.queue_url
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _functions(self) -> list[lambda_.Function]:
        return [c for c in self.fulfilment.node.find_all() if isinstance(c, lambda_.Function)]

    def _functions_by_service(self) -> dict[str, dict[str, lambda_.IFunction]]:
        by_service: dict[str, dict[str, lambda_.IFunction]] = {}
        for made in self.fulfilment.node.find_all():
            if isinstance(made, ServiceFunction):
                name = _short_name(made).removeprefix(f"{made.service}-")
                by_service.setdefault(made.service, {})[name] = made.function
        return by_service

    def _fulfilment_outputs(self) -> dict[str, str]:
        f = self.fulfilment
        edge = {
            f"{pascal_case(client)}ApiKeyId": key.key_id
            for client, key in f.api.access.keys.items()
        }
        edge["RateLimitTableName"] = f.api.access.table.table_name
        edge["IdempotencyTableName"] = f.orders.idempotency_table.table_name
        return {
            **edge,
            "OrdersApiId": f.api.rest_api.rest_api_id,
            "OrdersApiUrl": f.api.rest_api.url,
            "OrdersTableName": f.orders.table.table_name,
            "OrderViewsTableName": f.orders.views.table_name,
            "ProductsTableName": f.inventory.table.table_name,
            "PaymentsTableName": f.payments.table.table_name,
            "ProviderModeParameterName": f.payments.provider_mode.parameter_name,
            "ShipmentsTableName": f.shipping.table.table_name,
            "NotificationsTableName": f.notifications.customer.table.table_name,
            "AuditTableName": f.notifications.audit.table.table_name,
            "SagaStateMachineArn": f.saga.state_machine.state_machine_arn,
            "OrderPlacedDlqUrl": f.saga.rule_dlq.queue_url,
            "MalformedEventsQueueUrl": f.saga.malformed_events.queue_url,
            "ProjectionQueueUrl": f.orders.projection.queue.queue_url,
            "ProjectorDlqUrl": f.orders.projection.dlq.queue_url,
            "CatalogueQueueUrl": f.orders.catalogue.queue.queue_url,
            "CatalogueDlqUrl": f.orders.catalogue.dlq.queue_url,
            "OutboxDlqUrl": f.orders.outbox_dlq.queue_url,
            "ShipmentRequestsQueueUrl": f.shipping.requests.queue.queue_url,
            "ShipmentDlqUrl": f.shipping.requests.dlq.queue_url,
            "NotificationsDlqUrl": f.notifications.customer.queues.dlq.queue_url,
            "AuditQueueUrl": f.notifications.audit.queues.queue.queue_url,
            "AuditDlqUrl": f.notifications.audit.queues.dlq.queue_url,
            "OrderOutcomesTopicArn": f.notifications.topic.topic_arn,
            "OrderOutcomesDlqUrl": f.notifications.rule_dlq.queue_url,
            "SeedProductsFunctionName": f.inventory.seed.function_name,
            # reconciler
            "ReconcilerFunctionName": f.reconciler.function.function_name,
            "ReconcilerLeaseTableName": f.reconciler.lease_table.table_name,
            "ReconcilerRuleName": f.reconciler.rule.rule_name,
            # dead letters and replay (`orderflow dlq | redrive | replay`)
            "ArchiveArn": self.bus.event_archive.archive_arn,
            "ReplayRuleArn": f.orders.replay_rule.rule_arn,
            "ReplayQueueUrl": f.orders.replay.queue.queue_url,
            "ReplayDlqUrl": f.orders.replay.dlq.queue_url,
            # outgoing webhooks (`orderflow webhooks deliveries | redeliver`)
            "WebhookSubscriptionsTableName": f.webhooks.subscriptions.table_name,
            "WebhookFanOutRuleArn": f.webhooks.rule.rule_arn,
            "WebhookDeliveriesTableName": f.webhooks.deliveries.table_name,
            "WebhookDeliveryQueueUrl": f.webhooks.delivery.queue.queue_url,
            "WebhookDlqUrl": f.webhooks.delivery.dlq.queue_url,
            "WebhookEventsDlqUrl": f.webhooks.events.dlq.queue_url,
            **self._identity_outputs(),
            # the payment provider's webhook (names only: never a secret's value)
            "PaymentWebhookSecretName": f.payments.webhook_secret.secret_name,
            "PaymentWebhookDeliveriesTableName": f.payments.deliveries.table_name,
            "ProviderConfirmationsQueueUrl": f.payments.confirmations.queue.queue_url,
            "ProviderConfirmationsDlqUrl": f.payments.confirmations.dlq.queue_url,
        }

    def _identity_outputs(self) -> dict[str, str]:
        """Customer tokens (`orderflow token`): the issuer, the audience, the dev signing key's
        secret *name* (never its value) and the function that makes it."""
        f = self.fulfilment
        identity = f.identity
        outputs = {"IdentityIssuer": identity.config.issuer}
        outputs["IdentityAudience"] = identity.config.audience
        if identity.jwks is not None:
            outputs["JwksUrl"] = f.api.rest_api.url_for_path("/.well-known/jwks.json")
        if identity.signing_key_secret_name and identity.signing_key_function:
            outputs["DevSigningKeySecretName"] = identity.signing_key_secret_name
            outputs["DevSigningKeyFunctionName"] = identity.signing_key_function.function_name
        return outputs


def _short_name(construct: IConstruct, *, drop: str = "") -> str:
    """A construct's path in the stack (under ``Fulfilment`` for a service's) in kebab case,
    without a trailing ``drop`` part: ``Fulfilment/Orders/Projection/Dlq`` -> ``orders-projection``.
    """
    parts = construct.node.path.split("/")[1:]
    if parts[0] == "Fulfilment":
        parts = parts[1:]
    if drop and len(parts) > 1 and parts[-1] == drop:
        parts = parts[:-1]
    return "-".join(re.sub(r"(?<!^)(?=[A-Z])", "-", part).lower() for part in parts)
