"""The payment provider's asynchronous confirmation in the template: the saga's choice and wait
(``waitForTaskToken``, its timeout, PAYMENT_TIMEOUT), and who may read or answer what."""

from typing import Any

from aws_cdk.assertions import Template

from infra.contracts import PaymentDeclined, PaymentTimeout
from tests.infra.conftest import synth
from tests.infra.helpers import (
    as_list,
    function_ids_by_handler,
    function_statements,
    resources,
    state_machine_definition,
)

FULFILMENT = "Fulfilment"
PAYMENTS = "payments.handlers"


def states(template: Template) -> dict[str, Any]:
    return dict(state_machine_definition(template, FULFILMENT)["States"])


def function_of(template: Template, handler: str) -> str:
    return function_ids_by_handler(template)[f"{PAYMENTS}.{handler}.handler"]


def statements(template: Template, handler: str) -> list[dict[str, Any]]:
    return function_statements(template, function_of(template, handler))


def granted(template: Template, handler: str, action_prefix: str) -> dict[str, set[str]]:
    """Action -> the logical ids of the resources it is granted on (``Ref`` / ``GetAtt``)."""
    found: dict[str, set[str]] = {}
    for statement in statements(template, handler):
        for action in as_list(statement["Action"]):
            if not action.startswith(action_prefix):
                continue
            listed = statement["Resource"]
            for resource in [listed] if isinstance(listed, dict) else as_list(listed):
                if isinstance(resource, dict):
                    target = resource.get("Ref") or resource.get("Fn::GetAtt", [""])[0]
                else:
                    target = resource
                found.setdefault(action, set()).add(str(target))
    return found


def output(template: Template, name: str) -> Any:
    return template.find_outputs(name)[name]["Value"]


def test_a_pending_payment_waits_for_the_providers_confirmation(template: Template) -> None:
    machine = states(template)
    assert machine["AuthorizePayment"]["Next"] == "PaymentPending"
    choice = machine["PaymentPending"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {
            "Variable": "$.payment.status",
            "StringEquals": "PENDING",
            "Next": "AwaitPaymentConfirmation",
        }
    ]
    assert choice["Default"] == "ScheduleShipment"

    wait = machine["AwaitPaymentConfirmation"]
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert (
        wait["Parameters"]["FunctionName"]
        == f"<{function_of(template, 'await_payment_confirmation')}.Arn>"
    )
    assert wait["Parameters"]["Payload"] == {
        "orderId.$": "$.order.orderId",
        "authorizationId.$": "$.payment.authorizationId",
        "taskToken.$": "$$.Task.Token",
        "correlationId.$": "$.order.correlationId",
        "causationId.$": "$.order.causationId",
    }
    assert wait["TimeoutSeconds"] == 300
    assert wait["ResultPath"] == "$.payment"
    assert wait["Next"] == "ScheduleShipment"
    # no payment token anywhere in what the saga hands on
    assert "paymentToken" not in str(machine)


def test_no_confirmation_in_time_cancels_payment_timeout_after_voiding(template: Template) -> None:
    machine = states(template)
    catches = {
        error: catch["Next"]
        for catch in machine["AwaitPaymentConfirmation"]["Catch"]
        for error in catch["ErrorEquals"]
    }
    assert catches == {
        "States.Timeout": "PaymentNotConfirmed",
        PaymentDeclined.__name__: "ReleaseInventory",
        "States.ALL": "VoidPayment",
    }
    assert next(iter(catches)) == "States.Timeout"  # before States.ALL, which must come last
    timed_out = machine["PaymentNotConfirmed"]
    assert timed_out["Type"] == "Pass"
    assert timed_out["Parameters"]["Error"] == PaymentTimeout.__name__
    assert timed_out["ResultPath"] == "$.error"
    assert timed_out["Next"] == "VoidPayment"
    # CancelOrder derives its reason from $.error.Error: PaymentTimeout -> PAYMENT_TIMEOUT
    assert machine["CancelOrder"]["Parameters"]["error.$"] == "$.error"


def test_the_wait_comes_from_the_saga_timeouts_section() -> None:
    template = synth(**{"orderflow:sagaTimeouts": '{"payment_confirmation_seconds": 45}'})
    assert states(template)["AwaitPaymentConfirmation"]["TimeoutSeconds"] == 45


def test_only_the_webhook_and_the_wait_answer_the_saga(template: Template) -> None:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine", FULFILMENT)
    for handler in ("payment_webhook", "await_payment_confirmation"):
        answers = granted(template, handler, "states:")
        assert answers == {
            "states:SendTaskSuccess": {machine},
            "states:SendTaskFailure": {machine},
        }, handler
    assert granted(template, "authorize_payment", "states:") == {}


def test_each_function_reads_only_the_secret_it_needs_and_gets_its_name_only(
    template: Template,
) -> None:
    secrets = resources(template, "AWS::SecretsManager::Secret", "FulfilmentPayments")
    by_purpose = {s["Properties"]["Name"].rsplit("/", 1)[1]: name for name, s in secrets.items()}
    assert set(by_purpose) == {"payment-provider-api-key", "payment-webhook-secret"}
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]  # generated by CloudFormation
        assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 40
    expected = {
        "authorize_payment": {by_purpose["payment-provider-api-key"]},
        "payment_webhook": {by_purpose["payment-webhook-secret"]},
        "sandbox_callback": {by_purpose["payment-webhook-secret"]},
        "await_payment_confirmation": set(),
        "void_payment": set(),
    }
    for handler, readable in expected.items():
        reads = granted(template, handler, "secretsmanager:GetSecretValue")
        assert reads.get("secretsmanager:GetSecretValue", set()) == readable, handler
    functions = resources(template, "AWS::Lambda::Function")
    for handler, variable in (
        ("authorize_payment", "PROVIDER_API_KEY_SECRET_NAME"),
        ("payment_webhook", "PAYMENT_WEBHOOK_SECRET_NAME"),
        ("sandbox_callback", "PAYMENT_WEBHOOK_SECRET_NAME"),
    ):
        environment = functions[function_of(template, handler)]["Properties"]["Environment"]
        value = environment["Variables"][variable]
        assert value.startswith("orderflow/dev/payment-"), (handler, value)


def test_authorize_reads_the_orders_store_with_get_item_only(template: Template) -> None:
    orders = output(template, "OrdersTableName")["Ref"]
    on_orders = {
        action
        for action, targets in granted(template, "authorize_payment", "dynamodb:").items()
        if orders in targets
    }
    assert on_orders == {"dynamodb:GetItem"}
    for handler in ("payment_webhook", "await_payment_confirmation", "sandbox_callback"):
        touched = granted(template, handler, "dynamodb:")
        assert not any(orders in targets for targets in touched.values()), handler


def test_the_webhook_is_unkeyed_and_its_replay_table_expires_ids(template: Template) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    webhook = functions[function_of(template, "payment_webhook")]["Properties"]
    variables = webhook["Environment"]["Variables"]
    assert variables["RATE_LIMIT_ENABLED"] == "false"
    assert variables["PAYMENT_WEBHOOK_TOLERANCE_SECONDS"] == "300"
    deliveries = output(template, "PaymentWebhookDeliveriesTableName")["Ref"]
    table = resources(template, "AWS::DynamoDB::Table")[deliveries]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert variables["WEBHOOK_DELIVERIES_TABLE"] == {"Ref": deliveries}


def test_the_sandbox_provider_confirms_after_the_stages_delay(template: Template) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    authorize = functions[function_of(template, "authorize_payment")]["Properties"]
    assert authorize["Environment"]["Variables"]["PROVIDER_CONFIRMATION_DELAY_SECONDS"] == "3"
    callback = functions[function_of(template, "sandbox_callback")]["Properties"]
    url = callback["Environment"]["Variables"]["PAYMENT_WEBHOOK_URL"]
    assert "webhooks/payments" in str(url)
    prod = synth(**{"orderflow:stage": "prod"})
    prod_authorize = resources(prod, "AWS::Lambda::Function")[
        function_of(prod, "authorize_payment")
    ]["Properties"]
    assert prod_authorize["Environment"]["Variables"]["PROVIDER_CONFIRMATION_DELAY_SECONDS"] == "20"
