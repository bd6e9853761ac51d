"""The names infra takes from the function code (``infra/contracts.py``) keep their meaning."""

import importlib
import re

from aws_cdk.assertions import Template

from infra import contracts
from infra.saga import FINAL_BUSINESS_ERRORS, LAMBDA_RUNTIME_FAILURES, TRANSIENT_ERRORS
from tests.infra.helpers import function_ids_by_handler, state_machine_definition


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


def test_orders_consume_the_prices_inventory_publishes() -> None:
    from inventory import events as inventory
    from orders import events as orders

    assert (contracts.INVENTORY_SOURCE, contracts.PRODUCT_PRICED) == (
        inventory.SOURCE,
        inventory.PRODUCT_PRICED,
    )
    assert (orders.INVENTORY_SOURCE, orders.PRODUCT_PRICED) == (
        inventory.SOURCE,
        inventory.PRODUCT_PRICED,
    )
    assert contracts.PRODUCT_PRICED in contracts.CATALOGUE_EVENTS
    # ProductPriced follows [Resource][PastVerb]; orders reads exactly the fields it is sent
    assert set(orders.ProductPricedData.model_fields) == set(
        inventory.ProductPricedData.model_fields
    )


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_the_saga_names_exactly_the_errors_its_steps_raise(template: Template) -> None:
    """Every error name a Lambda step's Retry or Catch lists is raised by that step's function
    (its ``handler.raises``), and every error a step raises is retried or caught there: a
    renamed exception, a new one, or a stale name in the state machine fails here."""
    states = state_machine_definition(template, "FulfilmentSaga")["States"]
    handlers = {
        logical_id: handler for handler, logical_id in function_ids_by_handler(template).items()
    }
    checked = []
    for name, state in states.items():
        target = re.fullmatch(r"<(\w+)\.Arn>", str(state.get("Resource", "")))
        if target is None:  # not a Lambda step (SQS tasks, Succeed, Fail)
            continue
        module, _ = handlers[target.group(1)].rsplit(".", 1)
        raised = {error.__name__ for error in importlib.import_module(module).handler.raises}
        retried = [set(rule["ErrorEquals"]) for rule in state.get("Retry", [])]
        caught = [set(rule["ErrorEquals"]) for rule in state.get("Catch", [])]
        named = {
            error
            for rule in (*retried, *caught)
            for error in rule
            if not error.startswith(("States.", "Lambda."))
            and error not in LAMBDA_RUNTIME_FAILURES  # the runtime's, not the handler's
        }
        assert named <= raised, f"{name} names errors its function never raises: {named - raised}"
        covers_all = any("States.ALL" in rule for rule in (*retried, *caught))
        unhandled = raised - named if not covers_all else set()
        assert not unhandled, f"{name}: {unhandled} are neither retried nor caught"
        transient = {
            error.__name__
            for error in importlib.import_module(module).handler.raises
            if issubclass(error, contracts.TransientError)
        }
        retried_names = set().union(*retried) if retried else set()
        assert transient <= retried_names or "States.ALL" in retried_names, name
        checked.append(name)
    assert len(checked) == 8, checked  # 5 steps and 3 compensations
