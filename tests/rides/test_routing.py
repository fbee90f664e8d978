from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from providers.backends import console
from providers.models import Direction, Message
from rides.conf import DEFAULT_UNKNOWN_CALLER_SAY
from tests import factories

from .conftest import get_messagebird_call, post_flowroute_sms, post_messagebird_sms

pytestmark = pytest.mark.django_db

CUSTOMER = "+14155550123"
DRIVER = "+16505550199"
STRANGER = "+13125550142"


def make_ride(*, provider: str, number: str = "+12065550100", **kwargs):
    proxy = factories.proxy_number(number=number, provider=provider)
    return factories.ride(
        customer=factories.customer(name="Alice", phone=CUSTOMER),
        driver=factories.driver(name="Bob", phone=DRIVER),
        proxy=proxy,
        **kwargs,
    )


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_messagebird_sms_from_the_customer_reaches_the_driver_from_the_ride_number(
    client, vendor_apis, django_capture_on_commit_callbacks, as_json
):
    ride = make_ride(provider="messagebird")
    fields = {
        "originator": "14155550123",
        "recipient": "12065550100",
        "payload": "I'm at the north entrance, blue coat.",
        "id": "mb-in-1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post_messagebird_sms(client, fields, as_json=as_json)

    assert response.status_code == 200
    relayed = Message.objects.get(direction=Direction.OUTBOUND)
    assert vendor_apis.sent("messagebird") == [
        {
            "originator": "12065550100",
            "recipients": "16505550199",
            "body": "I'm at the north entrance, blue coat.",
            "reference": str(relayed.pk),
        }
    ]
    assert (relayed.session, relayed.outcome, relayed.status) == (ride.session, "relayed", "sent")


def test_messagebird_sms_from_the_driver_reaches_the_customer(
    client, vendor_apis, django_capture_on_commit_callbacks
):
    make_ride(provider="messagebird")
    fields = {"originator": "16505550199", "recipient": "12065550100", "body": "2 min away"}
    with django_capture_on_commit_callbacks(execute=True):
        post_messagebird_sms(client, {**fields, "id": "mb-in-2"}, as_json=True)
    relayed = Message.objects.get(direction=Direction.OUTBOUND)
    assert vendor_apis.sent("messagebird") == [
        {
            "originator": "12065550100",
            "recipients": "14155550123",
            "body": "2 min away",
            "reference": str(relayed.pk),
        }
    ]


FLOWROUTE_V2 = {"to": "12065550100", "from": "14155550123", "body": "Running late", "id": "mdr2-a"}
FLOWROUTE_V21 = {
    "data": {
        "id": "mdr2-b",
        "type": "message",
        "attributes": {
            "to": "12065550100",
            "from": "16505550199",
            "body": "Outside now",
            "direction": "inbound",
            "is_mms": False,
        },
    }
}


@pytest.mark.parametrize(
    ("payload", "recipient", "text"),
    [(FLOWROUTE_V2, "16505550199", "Running late"), (FLOWROUTE_V21, "14155550123", "Outside now")],
    ids=["v2-customer-to-driver", "v2.1-driver-to-customer"],
)
def test_flowroute_sms_is_relayed_to_the_other_party(
    client, vendor_apis, django_capture_on_commit_callbacks, payload, recipient, text
):
    make_ride(provider="flowroute")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_flowroute_sms(client, payload)
    assert response.status_code == 200
    assert vendor_apis.sent("flowroute") == [
        {
            "data": {
                "type": "message",
                "attributes": {"to": recipient, "from": "12065550100", "body": text},
            }
        }
    ]


def test_console_sms_is_relayed_verbatim(client, django_capture_on_commit_callbacks):
    make_ride(provider="console")
    text = "  Left my umbrella — back seat?  "
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/webhooks/console/sms/",
            data=json.dumps({"from": DRIVER, "to": "+12065550100", "text": text}),
            content_type="application/json",
        )
    assert console.outbox == [
        {"id": console.outbox[0]["id"], "from": "+12065550100", "to": CUSTOMER, "body": text}
    ]


def test_text_goes_to_the_ride_of_its_sender_when_a_number_serves_several_rides(
    client, django_capture_on_commit_callbacks
):
    ride = make_ride(provider="console")
    other = factories.ride(proxy=ride.proxy)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/webhooks/console/sms/",
            data=json.dumps({"from": other.customer.phone, "to": "+12065550100", "text": "hi"}),
            content_type="application/json",
        )
    assert [sms["to"] for sms in console.outbox] == [other.driver.phone]


def test_unknown_sender_gets_a_reply_that_reveals_nothing(
    client, vendor_apis, django_capture_on_commit_callbacks
):
    make_ride(provider="messagebird")
    fields = {"originator": "13125550142", "recipient": "12065550100", "payload": "hello?"}
    with django_capture_on_commit_callbacks(execute=True):
        post_messagebird_sms(client, {**fields, "id": "mb-in-3"})

    sent = vendor_apis.sent("messagebird")
    assert [s["recipients"] for s in sent] == ["13125550142"]
    reply = sent[0]["body"]
    for secret in ("Alice", "Bob", "4155550123", "6505550199"):
        assert secret not in reply
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.outcome, inbound.session) == ("unknown_sender", "")


@override_settings(RIDES_UNKNOWN_SENDER_REPLY="Wrong number, sorry.")
def test_unknown_sender_reply_is_configurable_and_sent_once_per_interval(
    client, django_capture_on_commit_callbacks
):
    make_ride(provider="console")
    with django_capture_on_commit_callbacks(execute=True):
        for text in ("one", "two", "three"):
            client.post(
                "/webhooks/console/sms/",
                data=json.dumps({"from": STRANGER, "to": "+12065550100", "text": text}),
                content_type="application/json",
            )
    assert [(s["to"], s["body"]) for s in console.outbox] == [(STRANGER, "Wrong number, sorry.")]
    assert (
        Message.objects.filter(direction=Direction.INBOUND, outcome="unknown_sender").count() == 3
    )


def test_ride_past_its_window_no_longer_relays(client, django_capture_on_commit_callbacks):
    make_ride(provider="console", pickup_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/webhooks/console/sms/",
            data=json.dumps({"from": CUSTOMER, "to": "+12065550100", "text": "anyone?"}),
            content_type="application/json",
        )
    assert [s["to"] for s in console.outbox] == [CUSTOMER]
    assert "Bob" not in console.outbox[0]["body"]


def test_messagebird_call_is_transferred_to_the_other_party_with_the_caller_id_masked(client):
    ride = make_ride(provider="messagebird")
    response = get_messagebird_call(client, source="14155550123", destination="12065550100")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert '<Transfer destination="16505550199" mask="true" />' in response.content.decode()
    call = Message.objects.get(kind="call")
    assert (call.session, call.status, call.outcome) == (ride.session, "transferred", "transferred")


def test_call_from_the_driver_is_transferred_to_the_customer(client):
    make_ride(provider="messagebird")
    response = get_messagebird_call(client, source="16505550199", destination="12065550100")
    assert '<Transfer destination="14155550123" mask="true" />' in response.content.decode()


def test_unknown_caller_hears_the_apology(client):
    make_ride(provider="messagebird")
    response = get_messagebird_call(client, source="13125550142", destination="12065550100")
    body = response.content.decode()
    assert "<Transfer" not in body
    assert f">{DEFAULT_UNKNOWN_CALLER_SAY}</Say>" in body
    assert DEFAULT_UNKNOWN_CALLER_SAY == (
        "Sorry, we cannot identify your transaction. "
        "Make sure you call in from the number you registered."
    )


def test_call_after_the_window_hears_the_apology(client):
    make_ride(provider="messagebird", pickup_at=timezone.now() - timedelta(hours=25))
    response = get_messagebird_call(client, source="14155550123", destination="12065550100")
    assert "<Say" in response.content.decode()


def test_console_call_is_transferred(client):
    make_ride(provider="console")
    response = client.get("/webhooks/console/voice/", {"from": CUSTOMER, "to": "+12065550100"})
    assert response.json() == {"action": "transfer", "destination": DRIVER, "text": ""}


def test_closed_ride_no_longer_transfers_calls(client):
    from rides.services import ride_close

    ride = make_ride(provider="console")
    ride_close(ride=ride)
    response = client.get("/webhooks/console/voice/", {"from": CUSTOMER, "to": "+12065550100"})
    assert response.json()["action"] == "say"


def test_routing_logs_masked_numbers_only(client, caplog, django_capture_on_commit_callbacks):
    make_ride(provider="console")
    with caplog.at_level("INFO"), django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/webhooks/console/sms/",
            data=json.dumps({"from": STRANGER, "to": "+12065550100", "text": "secret words"}),
            content_type="application/json",
        )
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= 20)
    assert "rides" in {r.name.split(".")[0] for r in caplog.records}
    for secret in (STRANGER, "3125550142", "secret words"):
        assert secret not in logged
