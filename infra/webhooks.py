"""Outgoing webhooks: subscriptions on the orders API, deliveries through queues.

::

  bus --rule (every orderflow.* event of a subscribable type)--> events.queue --> fan_out
  fan_out --one message per (event, enabled subscription)--> delivery.queue --> deliverer
  deliverer --POST, signed--> subscriber
            --a failed attempt: the next one, DelaySeconds = backoff--> delivery.queue
            --attempts exhausted (reason attached)--> delivery.dlq

* ``subscriptions``: the subscriptions (metadata; ``pk=CLIENT#<apiKeyId>``), read by the API
  and the fan-out, their failure counts kept by the deliverer.
* ``deliveries``: the attempt log and the messages sent (for redelivery), with a TTL.
* Signing secrets: one Secrets Manager secret per subscription, named
  ``orderflow/<stage>/webhooks/<subscriptionId>``, created, rotated and deleted by the API
  function; the deliverer reads them. Both are allowed exactly that name prefix (the secrets
  are made at run time, so no ``grant_*`` on a construct can name them).
* Bulkheads: the fan-out and the deliverer consume different queues; the deliverer runs a
  batch's attempts concurrently, each bounded by the attempt timeout, and a failed attempt
  leaves the batch (it is re-sent with a delay), so a slow or failing subscriber never holds
  up another's deliveries.
"""

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.api import ApiAccess, add_route
from infra.contracts import SOURCE_PREFIX, WEBHOOK_EVENT_TYPES, WEBHOOK_REDACTED_FIELDS
from infra.domain import API_PACKAGES, DomainFunctions, domain_table
from infra.lambda_defaults import FunctionDefaults
from infra.nag import default_policy, suppress
from infra.queues import QueueWithDlq, consume, rule_target, visibility_timeout_for
from infra.resilience import reserve
from infra.secrets import secret_name

FAN_OUT_TIMEOUT = Duration.seconds(20)
"""A batch of up to 10 events: one read (the subscriptions' version), a scan when they
changed, one SendMessageBatch per 10 subscribers."""
SECRETS_PURPOSE = "webhooks"

_API_SECRET_ACTIONS = [
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DeleteSecret",
]
_DELIVERER_SECRET_ACTIONS = ["secretsmanager:GetSecretValue"]


class Webhooks(Construct):
    """Webhook subscriptions, their fan-out and their delivery (see the module doc).

    Attributes:
        subscriptions: the subscriptions table.
        deliveries: the attempt log (TTL ``expiresAt``).
        api: serves ``/webhooks``.
        fan_out, events: the fan-out and its queue (with DLQ), target of ``rule``.
        deliverer, delivery: the deliverer and its queue; ``delivery.dlq`` holds what failed
            every attempt (with the reason) and what the deliverer itself failed on.
        rule: every subscribable orderflow event -> ``events.queue``; enabled only while a
            subscription is (the API enables it, the fan-out disables it).
        secret_prefix: the name prefix of the subscriptions' secrets.
    """

    def __init__(
        self, scope: Construct, id: str, *, bus: events.IEventBus, defaults: FunctionDefaults
    ) -> None:
        """
        Args:
            bus: the bus whose events are delivered.
            defaults: the stack's shared config (``config.webhooks``) and layer.
        """
        super().__init__(scope, id)
        config = defaults.config
        settings = config.webhooks
        bulkheads = config.resilience.bulkheads
        self.secret_prefix = secret_name(config, SECRETS_PURPOSE)
        self.subscriptions = domain_table(self, "Subscriptions", config=config)
        # the attempt log: items expire (``expiresAt``), backed up where the stage backs up
        self.deliveries = domain_table(
            self, "Deliveries", config=config, time_to_live_attribute="expiresAt"
        )
        deliverer_timeout = Duration.seconds(settings.deliverer_timeout_seconds)
        self.events = QueueWithDlq(
            self, "Events", visibility_timeout=visibility_timeout_for(FAN_OUT_TIMEOUT)
        )
        self.delivery = QueueWithDlq(
            self, "Delivery", visibility_timeout=visibility_timeout_for(deliverer_timeout)
        )
        # Enabled as deployed; the fan-out disables it while no subscription is enabled and
        # the API enables it again (functions/webhooks/logic/gate.py). A stack update that
        # puts the rule back to ENABLED only costs the fan-out an invocation to notice.
        self.rule = events.Rule(
            self,
            "FanOutEvents",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=events.Match.prefix(SOURCE_PREFIX),
                detail_type=list(WEBHOOK_EVENT_TYPES),
                detail={"specversion": events.Match.exists()},
            ),
        )
        function = DomainFunctions(
            self,
            service="webhooks",
            defaults=defaults,
            environment=self._environment(defaults),
            shared_packages=API_PACKAGES,
        )
        self.api = function("Api", "api", "the /webhooks API")
        self.fan_out = function(
            "FanOut", "fan_out", "one delivery per event and subscriber", timeout=FAN_OUT_TIMEOUT
        )
        self.deliverer = function(
            "Deliverer", "deliver", "POSTs signed events to subscribers", timeout=deliverer_timeout
        )
        self._grant()
        consume(self.fan_out, self.events, max_concurrency=bulkheads.max_concurrency)
        reserve(self.fan_out, bulkheads.queue_consumer, bulkheads)
        consume(self.deliverer, self.delivery, max_concurrency=bulkheads.max_concurrency)
        reserve(self.deliverer, bulkheads.queue_consumer, bulkheads)
        self.rule.add_target(rule_target(self.events))

    def serve(self, rest_api: apigateway.IRestApi, access: ApiAccess) -> None:
        """The ``/webhooks`` routes on ``rest_api``, behind its keys and the edge's limiter."""
        access.limit(self.api)
        webhooks = rest_api.root.resource_for_path("webhooks")
        one = webhooks.add_resource("{id}")
        deliveries = one.add_resource("deliveries")
        for resource, method in (
            (webhooks, "POST"),
            (webhooks, "GET"),
            (one, "GET"),
            (one, "DELETE"),
            (one.add_resource("rotate-secret"), "POST"),
            (one.add_resource("enable"), "POST"),
            (deliveries, "GET"),
            (deliveries.add_resource("{messageId}").add_resource("redeliver"), "POST"),
        ):
            add_route(resource, method, self.api)

    def _environment(self, defaults: FunctionDefaults) -> dict[str, str]:
        settings = defaults.config.webhooks
        stack = Stack.of(self)
        return {
            "WEBHOOK_SUBSCRIPTIONS_TABLE": self.subscriptions.table_name,
            "WEBHOOK_DELIVERIES_TABLE": self.deliveries.table_name,
            "WEBHOOK_DELIVERY_QUEUE_URL": self.delivery.queue.queue_url,
            "WEBHOOK_DLQ_URL": self.delivery.dlq.queue_url,
            "WEBHOOK_SECRET_PREFIX": self.secret_prefix,
            "WEBHOOK_FAN_OUT_RULE_ARN": self.rule.rule_arn,
            "WEBHOOK_EVENT_TYPES": stack.to_json_string(list(WEBHOOK_EVENT_TYPES)),
            "WEBHOOK_REDACTED_FIELDS": stack.to_json_string(list(WEBHOOK_REDACTED_FIELDS)),
            "WEBHOOK_ALLOW_LOOPBACK": str(settings.allow_loopback).lower(),
            "WEBHOOK_ATTEMPT_TIMEOUT_SECONDS": f"{settings.attempt_timeout_seconds:g}",
            "WEBHOOK_RETRY_SCHEDULE": settings.retry.model_dump_json(),
            "WEBHOOK_DISABLE_AFTER_FAILURES": str(settings.disable_after_failures),
            "WEBHOOK_ROTATION_OVERLAP_SECONDS": str(settings.rotation_overlap_seconds),
            "WEBHOOK_SECRET_CACHE_SECONDS": str(settings.secret_cache_seconds),
            "WEBHOOK_ATTEMPT_LOG_DAYS": str(settings.attempt_log_days),
        }

    def _grant(self) -> None:
        self.subscriptions.grant_read_write_data(self.api)
        self.subscriptions.grant_read_data(self.fan_out)
        self.subscriptions.grant_read_write_data(self.deliverer)
        self.deliveries.grant_read_write_data(self.api)
        self.deliveries.grant_read_write_data(self.deliverer)
        self.delivery.queue.grant_send_messages(self.api)
        self.delivery.queue.grant_send_messages(self.fan_out)
        self.delivery.queue.grant_send_messages(self.deliverer)
        self.delivery.dlq.grant_send_messages(self.deliverer)
        self._allow_rule_switch(self.api, ["events:EnableRule"])
        self._allow_rule_switch(self.fan_out, ["events:EnableRule", "events:DisableRule"])
        self._allow_secrets(self.api, _API_SECRET_ACTIONS)
        self._allow_secrets(self.deliverer, _DELIVERER_SECRET_ACTIONS)

    def _allow_rule_switch(self, function: lambda_.Function, actions: list[str]) -> None:
        """``actions`` on the fan-out's rule only (no ``grant_*`` exists for a rule)."""
        function.add_to_role_policy(
            iam.PolicyStatement(actions=actions, resources=[self.rule.rule_arn])
        )

    def _allow_secrets(self, function: lambda_.Function, actions: list[str]) -> None:
        """``actions`` on the subscriptions' secrets only: ``orderflow/<stage>/webhooks/*``."""
        arn = Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{self.secret_prefix}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[arn]))
        assert function.role is not None
        suppress(
            default_policy(function.role),
            "AwsSolutions-IAM5",
            "one secret per webhook subscription, created at run time: the statement names "
            "the stage's webhook secrets by their name prefix, orderflow/<stage>/webhooks/*, "
            "and no other secret",
            applies_to=[
                "Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
                f"secret:{self.secret_prefix}/*"
            ],
        )
