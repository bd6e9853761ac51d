"""Catalogue consumer: orders' copy of the prices, from inventory's ProductPriced events.

Trigger: the catalogue SQS queue, fed by an EventBridge rule on EVENT_BUS_NAME matching
`{"source": ["orderflow.inventory"], "detail-type": ["ProductPriced"]}`; each message body is
the EventBridge event. Batches of up to 10 (ReportBatchItemFailures; the queue's DLQ after 3
receives). Each price is stored only if its `priceVersion` is newer than the one orders has: a
redelivered or older event changes nothing. A malformed event fails its record only.
"""

from aws_lambda_powertools.metrics import MetricUnit

from orders.dal import get_catalog
from orders.logic.catalogue import record_price
from shared_kernel.cloudevents import BusEventRecord
from shared_kernel.handlers import batch_consumer
from shared_kernel.observability import bind_correlation, logger, metrics


@batch_consumer(BusEventRecord)
def handler(record: BusEventRecord) -> str:
    event = record.body.detail
    # not bind_event: the subject of a catalogue event is a SKU, not an order id
    bind_correlation(event.correlationid)
    logger.append_keys(event_id=event.id, event_type=event.type)
    recorded = record_price(event, get_catalog())
    if recorded:
        metrics.add_metric(name="PricesRecorded", unit=MetricUnit.Count, value=1)
    message = "price recorded" if recorded else "price not newer: ignored"
    logger.info(message, extra={"sku": event.subject})
    return "recorded" if recorded else "stale"
