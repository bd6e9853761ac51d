"""Orders: the orders table and its transactional outbox, the API functions, the read-model
projector and the saga's order steps."""

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra.config import DeploymentConfig
from infra.contracts import (
    CATALOGUE_EVENTS,
    INVENTORY_SOURCE,
    OUTBOX_PENDING,
    OUTBOX_SK,
    PRODUCT_PRICED,
    SOURCE_PREFIX,
)
from infra.domain import API_PACKAGES, DomainFunctions, domain_table, suppress_backups
from infra.lambda_defaults import FunctionDefaults
from infra.polling import long_poll_environment
from infra.queues import (
    QueueWithDlq,
    consume,
    dead_letter_queue,
    rule_target,
    visibility_timeout_for,
)
from infra.resilience import reserve

RELAY_TIMEOUT = Duration.seconds(30)
PROJECTOR_TIMEOUT = Duration.seconds(10)
"""A batch of up to 10 events, one DynamoDB write each; the projection queue's visibility
timeout is six times this."""
CATALOGUE_TIMEOUT = Duration.seconds(10)
"""A batch of up to 10 prices, one conditional write each; the catalogue queue's visibility
timeout is six times this."""


class Orders(Construct):
    """Orders and their outbox (table ``ORDERS_TABLE``: ``ORDER#<id>`` with sk ``ORDER`` /
    ``PAYMENT_TOKEN``; ``OUTBOX#<eventId>``/``OUTBOX``; ``CATALOGUE#<sku>``/``PRICE``), and
    their projected views and histories (table ``ORDER_VIEWS_TABLE``: ``ORDER#<id>``/``VIEW``,
    one item per order, history included).

    * Outbox: writers put the order change and its CloudEvent (an ``OUTBOX#`` item) in one
      transaction; ``outbox_relay`` reads the table's stream (from ``TRIM_HORIZON``, so no item
      written right after deployment is missed), publishes the event the record's new image
      carries to the bus, and marks the item ``SENT``. A filter lets through only records whose
      new image is a ``PENDING`` outbox item: the relay's own mark-``SENT`` update, the other
      items and deletions invoke nothing. A batch that keeps failing is bisected, retried 5
      times, then its metadata goes to ``outbox_dlq``.
    * Read model: ``projector`` records every CloudEvent of the bus (``source`` prefix
      ``orderflow.`` and ``detail.specversion`` present: other traffic on the bus is not the
      projector's business), each as one conditional write of the order's view item in the views
      table. That table has no stream: nothing reads its changes, and on the orders table each of
      them was a stream record for the relay's filter to drop. The rule sends each event (the whole
      EventBridge event as the message body) to the ``projection`` queue, which the projector
      consumes in batches of up to 10, reporting failed records only. A failed record (malformed
      event, DynamoDB error) is received again after the visibility timeout; after its third receive
      the queue's redrive policy moves it to ``projection.dlq``. Events EventBridge cannot deliver
      to the queue (after 4 retries or an hour) go to that same DLQ, with the error in their message
      attributes (``ERROR_CODE``, ``ERROR_MESSAGE``, ``RULE_ARN``): either way the DLQ holds the
      EventBridge event, and moving it back to ``projection.queue`` projects it again. Events about
      products (``CATALOGUE_EVENTS``) are not about an order and are left out.
    * Catalogue copy: ``catalogue`` keeps orders' own copy of the prices from inventory's
      ``ProductPriced`` events (rule ``CopyPrices`` -> ``catalogue.queue``, same delivery and
      DLQ arrangement as the projection's); ``place_order`` prices orders from it. Orders has
      no access to inventory's table.

    Attributes:
        table: the orders table (stream: new and old images).
        views: the read model's table (no stream): written by ``projector``, read by
            ``get_order``.
        idempotency_table: ``POST /orders``' Idempotency-Keys (Powertools' records: key ``id``,
            TTL ``expiration``).
        place_order, get_order: ``POST /orders`` and ``GET /orders/{orderId}``.
        record_order, confirm_order, cancel_order: the saga's order steps.
        outbox_relay, outbox_dlq: the stream consumer and its on-failure destination.
        projector, projector_rule: the read-model projector and the rule that feeds it.
        projection: the projector's queue (``projection.queue``) and the DLQ of everything it
            failed to project, or EventBridge failed to deliver (``projection.dlq``).
        catalogue_consumer, catalogue_rule, catalogue: the consumer of ``ProductPriced``, the
            rule that feeds it, its queue and DLQ.
        replay_rule, replay: the events a replay of the bus's archive sends to this rule (the
            projector's events, carrying ``replay-name``) -> ``replay.queue``, which
            ``orderflow replay`` drains and projects into a new read-model table with the
            projector's own code. Live events never match it; a replay names it in
            ``FilterArns``, so the live rules never see a replayed event.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bus: events.IEventBus,
        defaults: FunctionDefaults,
        filter_outbox_records: bool = True,
    ) -> None:
        """
        Args:
            bus: where the outbox relay publishes, and whose events the projector and the
                catalogue consumer read.
            defaults: the stack's shared config and layer.
            filter_outbox_records: let only records that can need relaying invoke the relay
                (see ``_pending_outbox_records``). The relay checks every record itself
                anyway, so turning the filter off only costs invocations.
        """
        super().__init__(scope, id)
        config = defaults.config
        self._bulkheads = config.resilience.bulkheads
        self.table = domain_table(
            self, "Table", config=config, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
        )
        function = DomainFunctions(
            self,
            service="orders",
            defaults=defaults,
            environment={
                "ORDERS_TABLE": self.table.table_name,
                "EVENT_BUS_NAME": bus.event_bus_name,
            },
            shared_packages=API_PACKAGES,
        )
        self.place_order = function("PlaceOrder", "place_order", "POST /orders")
        self.get_order = self._get_order(function, config)
        self.record_order = function("RecordOrder", "record_order", "saga step RecordOrder")
        self.confirm_order = function("ConfirmOrder", "confirm_order", "saga step ConfirmOrder")
        self.cancel_order = function("CancelOrder", "cancel_order", "saga step CancelOrder")
        self.outbox_relay = function(
            "OutboxRelay", "outbox_relay", "publishes the outbox", timeout=RELAY_TIMEOUT
        )
        self.projector = function(
            "Projector", "projector", "projects events into views", timeout=PROJECTOR_TIMEOUT
        )
        self.catalogue_consumer = function(
            "Catalogue", "catalogue", "keeps orders' copy of prices", timeout=CATALOGUE_TIMEOUT
        )
        self._grant(bus)
        self.views = self._views_table(config)
        self.idempotency_table = self._idempotency_table(config)
        self.outbox_dlq = dead_letter_queue(self, "OutboxDlq")
        self._relay_outbox(filter_outbox_records)
        self.projection = QueueWithDlq(
            self,
            "Projection",
            visibility_timeout=visibility_timeout_for(PROJECTOR_TIMEOUT),
            max_receive_count=3,
        )
        self.projector_rule = self._project_events(bus)
        self.replay = QueueWithDlq(self, "Replay", max_receive_count=3)
        self.replay_rule = self._collect_replayed_events(bus)
        self.catalogue = QueueWithDlq(
            self,
            "CatalogueCopy",
            visibility_timeout=visibility_timeout_for(CATALOGUE_TIMEOUT),
            max_receive_count=3,
        )
        self.catalogue_rule = self._copy_prices(bus)

    def _get_order(self, function: DomainFunctions, config: DeploymentConfig) -> lambda_.Function:
        """``GET /orders/{orderId}``, long polling included (``?wait=N``, infra/polling.py): its
        timeout outlasts the longest wait, and its reserved concurrency caps what waiting
        requests can hold of the account's pool (order intake keeps the rest)."""
        polling = config.polling
        get_order = function(
            "GetOrder", "get_order", "GET /orders/{orderId}", timeout=polling.get_order_timeout
        )
        for name, value in long_poll_environment(polling).items():
            get_order.add_environment(name, value)
        reserve(get_order, polling.get_order_concurrency, self._bulkheads)
        return get_order

    def _grant(self, bus: events.IEventBus) -> None:
        for writer in (
            self.place_order,
            self.record_order,
            self.confirm_order,
            self.cancel_order,
            self.outbox_relay,
            self.catalogue_consumer,
        ):
            self.table.grant_read_write_data(writer)
        self.table.grant_read_data(self.get_order)
        bus.grant_put_events_to(self.outbox_relay)

    def _views_table(self, config: DeploymentConfig) -> dynamodb.Table:
        """The read model's table (no stream), given to the projector alone to write and to
        ``get_order`` to read (which also reads the orders table)."""
        table = domain_table(self, "Views", config=config)
        for function in (self.projector, self.get_order):
            function.add_environment("ORDER_VIEWS_TABLE", table.table_name)
        table.grant_read_write_data(self.projector)
        table.grant_read_data(self.get_order)
        return table

    def _idempotency_table(self, config: DeploymentConfig) -> dynamodb.Table:
        """``POST /orders``' Idempotency-Keys, given to ``place_order``."""
        table = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            removal_policy=config.removal_policy,
        )
        suppress_backups(table, "keys of one hour's requests, expired by TTL")
        self.place_order.add_environment("IDEMPOTENCY_TABLE", table.table_name)
        table.grant_read_write_data(self.place_order)
        return table

    def _relay_outbox(self, filter_outbox_records: bool) -> None:
        """The table's stream -> ``outbox_relay``; what keeps failing -> ``outbox_dlq``."""
        self.outbox_relay.add_event_source(
            event_sources.DynamoEventSource(
                self.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                # Lambda filters the stream before batching: under a backlog one invocation
                # relays up to 100 outbox records (one shard is read by one relay at a time, so
                # per-invocation overhead, not publishing, would otherwise bound the rate);
                # with no batching window, a lone record is relayed at once.
                batch_size=100,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=5,
                on_failure=event_sources.SqsDlq(self.outbox_dlq),
                filters=[_pending_outbox_records()] if filter_outbox_records else None,
            )
        )

    def _project_events(self, bus: events.IEventBus) -> events.Rule:
        """Every orderflow CloudEvent on the bus -> ``projection.queue`` -> ``projector``."""
        # Up to 10 events per invocation (an order makes ~5), and no batching window: Lambda
        # invokes as soon as a poll returns messages, so a lone event is projected at once.
        bulkheads = self._bulkheads
        consume(self.projector, self.projection, max_concurrency=bulkheads.max_concurrency)
        reserve(self.projector, bulkheads.queue_consumer, bulkheads)
        rule = events.Rule(self, "ProjectEvents", event_bus=bus, event_pattern=_projected_events())
        rule.add_target(rule_target(self.projection))
        return rule

    def _collect_replayed_events(self, bus: events.IEventBus) -> events.Rule:
        """The projector's events, when a replay of the archive sends them again ->
        ``replay.queue`` (no consumer: ``orderflow replay`` drains it)."""
        rule = events.Rule(
            self,
            "CollectReplayedEvents",
            event_bus=bus,
            event_pattern=_projected_events(),
        )
        # EventBridge adds `replay-name` to every replayed event; CDK's EventPattern has no
        # field for it.
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override("EventPattern.replay-name", [{"exists": True}])
        rule.add_target(rule_target(self.replay))
        return rule

    def _copy_prices(self, bus: events.IEventBus) -> events.Rule:
        """Inventory's ``ProductPriced`` -> ``catalogue.queue`` -> ``catalogue_consumer``."""
        bulkheads = self._bulkheads
        consume(self.catalogue_consumer, self.catalogue, max_concurrency=bulkheads.max_concurrency)
        reserve(self.catalogue_consumer, bulkheads.queue_consumer, bulkheads)
        rule = events.Rule(
            self,
            "CopyPrices",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=[INVENTORY_SOURCE], detail_type=[PRODUCT_PRICED]
            ),
        )
        rule.add_target(rule_target(self.catalogue))
        return rule


def _projected_events() -> events.EventPattern:
    """The events the read model is made of: every orderflow CloudEvent but the catalogue's."""
    return events.EventPattern(
        source=events.Match.prefix(SOURCE_PREFIX),
        detail_type=events.Match.anything_but(*CATALOGUE_EVENTS),
        detail={"specversion": events.Match.exists()},
    )


def _pending_outbox_records() -> Mapping[str, Any]:
    """Lambda filter: only stream records whose new image is a ``PENDING`` outbox item.

    That is an INSERT or MODIFY (a REMOVE has no ``NewImage``, so it never matches) of an item
    with sk ``OUTBOX`` (only outbox items have it) and status ``PENDING``: the outbox write, an
    operator's re-drive, and the relay's own failure bookkeeping (``attempts`` changed), which
    the relay skips in code because a filter cannot compare the old and new images. The
    relay's mark-``SENT`` update does not match, so it costs no invocation. The conditions are
    on the ``dynamodb`` key only, the one Lambda documents for filtering DynamoDB records; the
    event name needs none (only INSERT and MODIFY records have a ``NewImage``).
    """
    return lambda_.FilterCriteria.filter(
        {
            "dynamodb": {
                "NewImage": {
                    "sk": {"S": lambda_.FilterRule.is_equal(OUTBOX_SK)},
                    "status": {"S": lambda_.FilterRule.is_equal(OUTBOX_PENDING)},
                }
            }
        }
    )
