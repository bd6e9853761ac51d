"""The names infra takes from the function code (``infra/contracts.py``) keep their meaning."""

from infra import contracts
from infra.saga import FINAL_BUSINESS_ERRORS, TRANSIENT_ERRORS


def test_the_saga_retries_transient_errors_and_never_business_ones() -> None:
    transient = {cls.__name__ for cls in _subclasses(contracts.TransientError)}
    business = {cls.__name__ for cls in _subclasses(contracts.BusinessError)}
    assert set(TRANSIENT_ERRORS) <= transient
    assert set(FINAL_BUSINESS_ERRORS) <= business
    for error in (
        contracts.OutOfStock,
        contracts.PaymentDeclined,
        contracts.MalformedEventError,
        contracts.SagaAlreadyStarted,
    ):
        assert issubclass(error, contracts.BusinessError), error


def test_every_service_publishes_under_the_projectors_prefix() -> None:
    assert len(set(contracts.EVENT_SOURCES)) == len(contracts.EVENT_SOURCES)
    for source in contracts.EVENT_SOURCES:
        assert source.startswith(contracts.SOURCE_PREFIX), source


def test_notifications_consume_what_orders_publish() -> None:
    from notifications import events as notifications
    from orders import events as orders

    assert notifications.ORDERS_SOURCE == orders.SOURCE
    assert contracts.ORDER_OUTCOMES == (orders.ORDER_CONFIRMED, orders.ORDER_CANCELLED)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found
