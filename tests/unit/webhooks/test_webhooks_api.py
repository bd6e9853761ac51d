"""The /webhooks API on moto: subscriptions belong to the API key's client, secrets live in
Secrets Manager only (shown once), bad input is a 400 naming the field."""

import json

import boto3
import pytest

from tests.unit.domain_common.fixtures import PREMIUM_KEY_ID, REGION
from tests.unit.webhooks.conftest import SECRET_PREFIX, SUBSCRIPTIONS_TABLE, Queues
from tests.unit.webhooks.helpers import call, on, subscribe

URL = "https://hooks.example.com/orderflow"


def stored_secret(subscription_id: str) -> dict:
    client = boto3.client("secretsmanager", region_name=REGION)
    return json.loads(
        client.get_secret_value(SecretId=f"{SECRET_PREFIX}/{subscription_id}")["SecretString"]
    )


def table_items() -> list[dict]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(SUBSCRIPTIONS_TABLE)
    return table.scan()["Items"]


def test_subscribing_answers_the_secret_once_and_stores_it_in_secrets_manager_only(
    queues: Queues,
) -> None:
    created = subscribe(URL, ["OrderConfirmed", "OrderCancelled", "OrderConfirmed"])

    assert created["id"].startswith("wh_")
    assert created["secret"].startswith("whsec_")
    assert created["eventTypes"] == ["OrderCancelled", "OrderConfirmed"]
    assert created["enabled"] is True
    assert stored_secret(created["id"]) == {"current": created["secret"], "version": 1}
    assert created["secret"] not in json.dumps(table_items(), default=str)
    status, read = on("GET", created["id"])
    assert status == 200 and "secret" not in read
    assert read["url"] == URL


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/", "eventTypes": ["OrderConfirmed"]}, "url"),
        ({"url": "https://169.254.169.254/", "eventTypes": ["OrderConfirmed"]}, "url"),
        ({"url": "https://10.0.0.8/hook", "eventTypes": ["OrderConfirmed"]}, "url"),
        ({"url": URL, "eventTypes": ["OrderShipped"]}, "eventTypes"),
        ({"url": URL, "eventTypes": []}, "eventTypes"),
        ({"url": URL}, "eventTypes"),
        ({"url": URL, "eventTypes": ["OrderConfirmed"], "secret": "mine"}, "secret"),
        ({"url": 42, "eventTypes": ["OrderConfirmed"]}, "url"),
    ],
)
def test_bad_subscriptions_are_400_naming_the_field(queues: Queues, body: dict, field: str) -> None:
    status, answer = call("POST", "/webhooks", body)
    assert status == 400, answer
    assert field in [error["field"] for error in answer["errors"]]
    assert table_items() == []


def test_an_unknown_event_type_is_named(queues: Queues) -> None:
    _, answer = call("POST", "/webhooks", {"url": URL, "eventTypes": ["OrderConfirmed", "Nope"]})
    assert answer["errors"] == [{"field": "eventTypes", "problem": "unknown event types: Nope"}]


def test_another_clients_subscription_is_not_found(queues: Queues) -> None:
    mine = subscribe(URL, ["OrderConfirmed"])
    theirs = subscribe(URL, ["OrderCancelled"], key=PREMIUM_KEY_ID)

    status, listed = call("GET", "/webhooks")
    assert status == 200
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    for method, tail in [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/enable"),
        ("GET", "/deliveries"),
    ]:
        status, answer = on(method, theirs["id"], tail)
        assert status == 404, (method, tail, answer)
    assert stored_secret(theirs["id"])["current"] == theirs["secret"]


def test_deleting_removes_the_subscription_and_its_secret(queues: Queues) -> None:
    created = subscribe(URL, ["OrderConfirmed"])

    status, _ = on("DELETE", created["id"])

    assert status == 204
    assert on("GET", created["id"])[0] == 404
    assert on("DELETE", created["id"])[0] == 404
    with pytest.raises(Exception, match="ResourceNotFound"):
        stored_secret(created["id"])


def test_rotating_keeps_the_previous_secret_signing_until_the_overlap_ends(
    queues: Queues,
) -> None:
    created = subscribe(URL, ["OrderConfirmed"])

    status, rotated = on("POST", created["id"], "/rotate-secret")

    assert status == 200
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    stored = stored_secret(created["id"])
    assert (stored["current"], stored["previous"], stored["version"]) == (
        rotated["secret"],
        created["secret"],
        2,
    )
    assert stored["previousUntil"].startswith(rotated["previousValidUntil"][:16])


def test_a_malformed_id_is_400_and_an_unknown_one_404(queues: Queues) -> None:
    status, answer = on("GET", "not-an-id")
    assert status == 400 and answer["errors"][0]["field"] == "id"
    assert on("GET", "wh_" + "0" * 24)[0] == 404


def test_redelivering_an_unknown_message_is_404(queues: Queues) -> None:
    created = subscribe(URL, ["OrderConfirmed"])
    message = "msg_" + "0" * 32
    status, answer = call(
        "POST",
        f"/webhooks/{created['id']}/deliveries/{message}/redeliver",
        resource="/webhooks/{id}/deliveries/{messageId}/redeliver",
        path_parameters={"id": created["id"], "messageId": message},
    )
    assert status == 404
    assert answer["errors"] == [{"field": "messageId", "problem": f"message {message} not found"}]


def test_without_an_api_key_nothing_is_served(queues: Queues) -> None:
    status, _ = call("GET", "/webhooks", key=None)
    assert status == 403


def test_the_deliveries_limit_is_bounded(queues: Queues) -> None:
    created = subscribe(URL, ["OrderConfirmed"])
    status, answer = on("GET", created["id"], "/deliveries", query={"limit": "1000"})
    assert status == 400 and answer["errors"][0]["field"] == "limit"
    assert on("GET", created["id"], "/deliveries")[1] == {"items": []}


def test_deleting_a_subscription_whose_secret_is_already_gone_still_deletes_it(
    queues: Queues,
) -> None:
    created = subscribe(URL, ["OrderConfirmed"])
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=f"{SECRET_PREFIX}/{created['id']}", ForceDeleteWithoutRecovery=True
    )

    assert on("DELETE", created["id"])[0] == 204
    assert on("GET", created["id"])[0] == 404
